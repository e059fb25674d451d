import { changingUsers } from './user-state';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import { sessions, spentRefreshTokens, users } from '../../db/schema/auth';
import { sha256Hex } from '../../lib/crypto';
import { deriveSecret, type DeviceClaims } from '../../security/device-token';
import { loadUserView } from '../users/users.service';
import { issueTokens, type AuthDeps, type TokenPair } from './auth.service';

/**
 * Refresh-token rotation with reuse detection, and the retry window bound to the device
 * (SPEC "Refresh retries that do not sign the user out"). Sessions are opened in auth.service.ts.
 */

// Refresh token = "<session public id>.<32 random bytes, base64url>". Only its SHA-256 is stored.
const REFRESH_TOKEN = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

/**
 * The child of a refresh token: derived, not random (HMAC under a Worker-only key of the
 * parent's hash), so a retry of the parent within the reuse window can be answered with the
 * very same child without the child ever being stored. Unpredictable without the key, exactly
 * like a random one; the first token of a session stays random.
 */
async function childRefreshToken(deps: AuthDeps, sessionPublicId: string, parentHash: string) {
  const token = `${sessionPublicId}.${await deriveSecret(deps.env.DEVICE_TOKEN_SECRET, 'refresh-child v1', parentHash)}`;
  return { token, hash: await sha256Hex(token) };
}

export type RefreshResult =
  | { ok: true; pair: TokenPair; retry: boolean; sessionId: string; userId: string }
  | { ok: false; reuse: boolean; userId: string | null; sessionId: string | null };

/**
 * Rotates a refresh token. The swap is one conditional UPDATE (exactly one winner under
 * concurrency), batched with the record of the spent hash. A spent token presented again
 * revokes its whole family, except a retry: within `refreshReuseIntervalMs` of the rotation,
 * with a valid device token of the device that holds the session, while the child is still the
 * session's current token, the same pair is answered again (see `retryPair`).
 */
export async function refresh(deps: AuthDeps, refreshToken: string, device: DeviceClaims | null = null): Promise<RefreshResult> {
  const m = REFRESH_TOKEN.exec(refreshToken);
  if (!m) return { ok: false, reuse: false, userId: null, sessionId: null };
  const sessionPublicId = m[1]!;
  const oldHash = await sha256Hex(refreshToken);
  const next = await childRefreshToken(deps, sessionPublicId, oldHash);
  const now = new Date();
  const idleCutoff = new Date(now.getTime() - deps.config.sessionIdleTtlMs);
  const db = deps.db.auth;
  const [rotated] = await db.batch([
    db
      .update(sessions)
      .set({ refreshHash: next.hash, generation: sql`${sessions.generation} + 1`, lastUsedAt: now })
      .where(
        and(
          eq(sessions.publicId, sessionPublicId),
          eq(sessions.refreshHash, oldHash),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
          gt(sessions.lastUsedAt, idleCutoff),
          sql`${sessions.userId} IN (SELECT ${users.id} FROM ${users} WHERE ${users.deletedAt} IS NULL)`,
        ),
      )
      .returning({ id: sessions.id, userId: sessions.userId }),
    // The child is derived, so a losing concurrent request finds the winner's child in place
    // and would record the same spent hash again: the conflict is that, and changes nothing.
    db
      .insert(spentRefreshTokens)
      .select(
        db
          .select({
            id: sql<number>`NULL`.as('id'),
            publicId: sql<string>`${uuidv7()}`.as('public_id'),
            createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
            updatedAt: sql<Date>`${now.getTime()}`.as('updated_at'),
            sessionId: sessions.id,
            tokenHash: sql<string>`${oldHash}`.as('token_hash'),
          })
          .from(sessions)
          .where(and(eq(sessions.publicId, sessionPublicId), eq(sessions.refreshHash, next.hash))),
      )
      .onConflictDoNothing(),
  ]);
  const won = rotated[0];
  if (won) {
    const owner = await db.select({ publicId: users.publicId }).from(users).where(eq(users.id, won.userId)).get();
    const user = owner ? await loadUserView(deps.db, owner.publicId) : null;
    if (!user) return { ok: false, reuse: false, userId: null, sessionId: sessionPublicId };
    const pair = await issueTokens(deps, user, sessionPublicId, next.token, await fixedAccessClaims(now.getTime(), next.hash));
    return { ok: true, pair, retry: false, sessionId: sessionPublicId, userId: user.id };
  }
  const spent = await db
    .select({ sessionId: spentRefreshTokens.sessionId, spentAt: spentRefreshTokens.createdAt })
    .from(spentRefreshTokens)
    .where(eq(spentRefreshTokens.tokenHash, oldHash))
    .get();
  if (!spent) return { ok: false, reuse: false, userId: null, sessionId: sessionPublicId };
  if (device && now.getTime() - spent.spentAt.getTime() <= deps.config.refreshReuseIntervalMs) {
    const pair = await retryPair(deps, { sessionInternalId: spent.sessionId, sessionPublicId, spentAt: spent.spentAt, child: next, device, now });
    if (pair) return { ok: true, pair, retry: true, sessionId: sessionPublicId, userId: pair.user.id };
  }
  // The owner first: the revocation goes through their UserState object (the stolen family's
  // access tokens are refused on the next request).
  const owner = await db.select({ publicId: users.publicId }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, spent.sessionId)).get();
  const revoked = await changingUsers(deps.env, [owner?.publicId], () =>
    db
      .update(sessions)
      .set({ revokedAt: now, revokedReason: 'refresh_reuse' })
      .where(and(eq(sessions.id, spent.sessionId), isNull(sessions.revokedAt)))
      .returning({ userId: sessions.userId }),
  );
  return { ok: false, reuse: true, userId: revoked[0] ? (owner?.publicId ?? null) : null, sessionId: sessionPublicId };
}

/**
 * The access token of a rotation is a function of the rotation (issued-at = the rotation time,
 * jti from the child's hash) and Ed25519 signatures are deterministic: a retry gets the
 * byte-identical token, not merely an equivalent one.
 */
async function fixedAccessClaims(rotatedAtMs: number, childHash: string) {
  return { issuedAt: Math.floor(rotatedAtMs / 1000), jti: (await sha256Hex(`jti:${childHash}`)).slice(0, 32) };
}

/**
 * The answer to a retried refresh, or null when it is reuse after all: the session must be live,
 * held by the device whose token came with the request (same user, same device id), and its
 * current token must still be the child of the presented one (a child already rotated further
 * means the retry is not a lost response but a replay).
 */
async function retryPair(
  deps: AuthDeps,
  r: { sessionInternalId: number; sessionPublicId: string; spentAt: Date; child: { token: string; hash: string }; device: DeviceClaims; now: Date },
): Promise<TokenPair | null> {
  const row = await deps.db.auth
    .select({ userPublicId: users.publicId })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, r.sessionInternalId),
        eq(sessions.refreshHash, r.child.hash),
        eq(sessions.deviceId, r.device.deviceId),
        eq(users.publicId, r.device.userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, r.now),
        isNull(users.deletedAt),
      ),
    )
    .get();
  if (!row) return null;
  const user = await loadUserView(deps.db, row.userPublicId);
  if (!user) return null;
  return issueTokens(deps, user, r.sessionPublicId, r.child.token, await fixedAccessClaims(r.spentAt.getTime(), r.child.hash));
}
