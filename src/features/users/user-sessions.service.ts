import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { sessions, users } from '../../db/schema/auth';
import { notFound } from '../../lib/errors';
import { listKeys } from '../api-keys/api-keys.service';
import { listSessions } from '../auth/auth.service';
import { listIdentities } from '../oauth-login/identities.service';
import { userWithin, type Ceiling } from '../roles/ceilings';
import { ceilingError } from '../roles/roles.errors';

/** Another user's sessions, identities and API keys, for operators (GET/DELETE /users/:id/sessions, GET /users/:id/identities, GET /users/:id/api-keys). */

async function liveUserId(db: Databases, publicId: string): Promise<number> {
  const row = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, publicId), isNull(users.deletedAt))).get();
  if (!row) throw notFound();
  return row.id;
}

export async function userSessions(db: Databases, publicId: string) {
  const rows = await listSessions(db, await liveUserId(db, publicId));
  return rows.map((s) => ({ id: s.id, createdAt: s.createdAt.toISOString(), lastUsedAt: s.lastUsedAt.toISOString(), expiresAt: s.expiresAt.toISOString(), userAgent: s.userAgent }));
}

export async function userIdentities(db: Databases, publicId: string) {
  return listIdentities(db, await liveUserId(db, publicId));
}

/** The user's live API keys as the owner sees them: prefix and permissions, never the secret or its hash. */
export async function userApiKeys(db: Databases, publicId: string) {
  return listKeys(db, await liveUserId(db, publicId));
}

/**
 * Ends every live session of the user, only while its permissions are within the caller's (the
 * ceiling sits in the UPDATE's WHERE, so a concurrent grant cannot slip in): 404 for no such live
 * user, 403 beyond the ceiling. Returns how many sessions ended.
 */
export async function revokeUserSessions(db: Databases, ceiling: Ceiling, publicId: string): Promise<number> {
  const userId = await liveUserId(db, publicId);
  const ended = await db.auth
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: 'admin_revoked' })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), userWithin(ceiling, sql`${userId}`)))
    .returning({ id: sessions.id });
  if (ended.length > 0) return ended.length;
  const within = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.id, userId), userWithin(ceiling, sql`"users"."id"`))).get();
  if (!within) throw ceilingError('This user holds permissions you do not: only a caller holding all of them can end its sessions');
  return 0;
}
