import { and, eq, inArray, isNotNull, lt, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { AuthDb } from '../../db/client';
import { sessions, spentRefreshTokens, users } from '../../db/schema/auth';

/** An instant as a value (bound) or as SQL (the hot-path statement's `?3`, see caller.repository.ts). */
type Instant = Date | SQL;

export interface DeadSessionAt {
  /** Expired at or before this instant (the session check and refresh accept `expires_at > now` only). */
  now: Instant;
  /** Dead once revoked before this instant; omitted: once revoked at all. */
  revokedBefore?: Instant;
  /** Dead once unused since before this instant (SESSION_IDLE_TTL); omitted: idleness is not judged. */
  idleBefore?: Instant;
  /** The query joins the session's user (`users`): a soft-deleted user ends every session. */
  withUser?: boolean;
}

/**
 * The dead-session rule, the one place it is written: a session is dead once it expired, was
 * revoked, or sat idle, and (where the user is joined) once its user is deleted. Callers pick
 * the cutoffs: the session check kills a revocation at once; the cleanup keeps revoked sessions
 * a grace day for reuse detection and leaves deleted users to the deleted-users purge (a
 * restore within retention must find the account whole).
 * Never NULL (a NULL `revoked_at` compares false, not unknown), so `not(deadSession(…))` is the
 * live rule.
 */
export function deadSession(at: DeadSessionAt): SQL {
  return or(
    lte(sessions.expiresAt, at.now),
    at.revokedBefore === undefined ? isNotNull(sessions.revokedAt) : and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, at.revokedBefore)),
    at.idleBefore === undefined ? undefined : lt(sessions.lastUsedAt, at.idleBefore),
    at.withUser ? isNotNull(users.deletedAt) : undefined,
  )!;
}

/**
 * At most `limit` spent refresh tokens of the sessions matching `ofSessions` (a condition on
 * `sessions`). One long-lived session can own thousands: callers repeat this before deleting
 * sessions, so no cascade is unbounded.
 */
export function deleteSpentTokens(db: AuthDb, ofSessions: SQL, limit: number): Promise<D1Result> {
  const batch = db.select({ id: spentRefreshTokens.id }).from(spentRefreshTokens).innerJoin(sessions, eq(sessions.id, spentRefreshTokens.sessionId)).where(ofSessions).limit(limit);
  return db.delete(spentRefreshTokens).where(inArray(spentRefreshTokens.id, batch));
}

/** Dead sessions that own no spent token any more, at most `limit`. */
export function deleteDeadSessions(db: AuthDb, at: DeadSessionAt, limit: number): Promise<D1Result> {
  const spent = db
    .select({ one: sql`1` })
    .from(spentRefreshTokens)
    .where(eq(spentRefreshTokens.sessionId, sessions.id));
  const batch = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(deadSession(at), notExists(spent)))
    .limit(limit);
  return db.delete(sessions).where(inArray(sessions.id, batch));
}
