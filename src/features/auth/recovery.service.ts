import { changingUsers, forgetUsers } from './user-state';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { apiKeys, oneTimeTokens, sessions, users } from '../../db/schema/auth';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { AppError } from '../../lib/errors';
import { newPasswordRefusal } from '../../security/breached-passwords';
import { hashPassword, passwordPolicyError } from '../../security/password';
import { notify } from '../notifications/notifications.service';
import { emailTaken } from './auth.errors';
import { requireCurrentPassword } from '../users/users.service';

export const RESET_TOKEN_TTL_MS = 60 * 60_000;
export const VERIFY_TOKEN_TTL_MS = 24 * 60 * 60_000;

export interface RecoveryDeps {
  db: Databases;
  env: CloudflareBindings;
  appUrl: string;
}

type Purpose = 'verify_email' | 'reset_password' | 'change_email';

const invalidToken = () => new AppError(400, 'VALIDATION_ERROR', { message: 'Invalid or expired token', details: [{ field: 'token', message: 'Invalid or expired token' }] });

/** Issues a single-use token (only its hash is stored); older unused tokens of the same purpose die. */
async function issueToken(db: Databases, userId: number, purpose: Purpose, ttlMs: number, newEmail: string | null = null, sessionId: number | null = null): Promise<string> {
  const token = randomToken(32);
  const now = new Date();
  await db.auth.batch([
    db.auth
      .update(oneTimeTokens)
      .set({ usedAt: now })
      .where(and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt))),
    db.auth.insert(oneTimeTokens).values({ userId, purpose, tokenHash: await sha256Hex(token), expiresAt: new Date(now.getTime() + ttlMs), newEmail, sessionId }),
  ]);
  return token;
}

/**
 * Password reset request. Runs after the response (waitUntil) for known and unknown emails
 * alike, so neither the answer nor its timing tells whether an account exists.
 */
export async function requestPasswordReset(deps: RecoveryDeps, email: string): Promise<void> {
  const user = await deps.db.auth
    .select({ id: users.id, publicId: users.publicId })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletedAt)))
    .get();
  if (!user) return;
  const token = await issueToken(deps.db, user.id, 'reset_password', RESET_TOKEN_TTL_MS);
  const link = `${deps.appUrl}/reset-password?token=${encodeURIComponent(token)}`;
  await notify(deps, {
    userId: user.publicId,
    channels: ['email'],
    category: 'security',
    kind: 'auth.password_reset',
    to: { email },
    content: {
      title: 'Reset your password',
      body: `Someone asked to reset the password of your account. If it was you, open this link within an hour:\n\n${link}\n\nReset code: ${token}\n\nIf it was not you, ignore this message: your password stays as it is.`,
    },
  });
}

/**
 * Consumes the token, sets the new password and ends every session in one AUTH_DB batch: the
 * token is spent by a conditional UPDATE, and the later statements only touch the user whose
 * token was spent in this very batch (so a token can never be used twice, even concurrently).
 */
export async function resetPassword(deps: RecoveryDeps, token: string, newPassword: string): Promise<{ userId: string; email: string }> {
  const hash = await sha256Hex(token);
  const now = new Date();
  const row = await deps.db.auth
    .select({ userId: oneTimeTokens.userId, email: users.email, publicId: users.publicId })
    .from(oneTimeTokens)
    .innerJoin(users, eq(users.id, oneTimeTokens.userId))
    .where(and(eq(oneTimeTokens.tokenHash, hash), eq(oneTimeTokens.purpose, 'reset_password'), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, now), isNull(users.deletedAt)))
    .get();
  if (!row) throw invalidToken();
  const policy = await newPasswordRefusal(deps.env, newPassword, row.email, passwordPolicyError);
  if (policy) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'newPassword', message: policy }] });
  const passwordHash = await hashPassword(newPassword);
  const spentNow = sql`(SELECT user_id FROM ${oneTimeTokens} WHERE token_hash = ${hash} AND used_at = ${now.getTime()})`;
  // Through the user's UserState object: the sessions this ends are refused on the next request.
  const [spent] = await changingUsers(deps.env, [row.publicId], () => deps.db.auth.batch([
    deps.db.auth
      .update(oneTimeTokens)
      .set({ usedAt: now })
      .where(and(eq(oneTimeTokens.tokenHash, hash), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, now)))
      .returning({ id: oneTimeTokens.id }),
    deps.db.auth
      .update(users)
      .set({ passwordHash, passwordChangedAt: now, failedLoginCount: 0, loginLockedUntil: null })
      .where(sql`${users.id} = ${spentNow}`),
    deps.db.auth
      .update(sessions)
      .set({ revokedAt: now, revokedReason: 'password_reset' })
      .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} = ${spentNow}`)),
    // Recovery evicts everyone: an intruder's API keys die with the sessions.
    deps.db.auth
      .update(apiKeys)
      .set({ revokedAt: now, updatedAt: now })
      .where(and(isNull(apiKeys.revokedAt), sql`${apiKeys.userId} = ${spentNow}`)),
    // Any other pending link (an email change the intruder asked for, say) dies too.
    deps.db.auth
      .update(oneTimeTokens)
      .set({ usedAt: now })
      .where(and(isNull(oneTimeTokens.usedAt), sql`${oneTimeTokens.userId} = ${spentNow}`)),
  ]));
  if (spent.length === 0) throw invalidToken();
  return { userId: row.publicId, email: row.email };
}

/** Sends a verification link unless the address is verified already (also called after registration). */
export async function requestEmailVerification(deps: RecoveryDeps, user: { userId: string; email: string }): Promise<void> {
  const row = await deps.db.auth
    .select({ id: users.id, verified: users.emailVerifiedAt })
    .from(users)
    .where(and(eq(users.publicId, user.userId), isNull(users.deletedAt)))
    .get();
  if (!row || row.verified) return;
  const token = await issueToken(deps.db, row.id, 'verify_email', VERIFY_TOKEN_TTL_MS);
  const link = `${deps.appUrl}/verify-email?token=${encodeURIComponent(token)}`;
  await notify(deps, {
    userId: user.userId,
    channels: ['email'],
    category: 'security',
    kind: 'auth.verify_email',
    to: { email: user.email },
    content: { title: 'Confirm your email address', body: `Confirm this address for your account:\n\n${link}\n\nVerification code: ${token}` },
  });
}

export async function verifyEmail(deps: RecoveryDeps, token: string): Promise<string> {
  const hash = await sha256Hex(token);
  const now = new Date();
  const spent = await deps.db.auth
    .update(oneTimeTokens)
    .set({ usedAt: now })
    .where(and(eq(oneTimeTokens.tokenHash, hash), eq(oneTimeTokens.purpose, 'verify_email'), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, now)))
    .returning({ userId: oneTimeTokens.userId });
  if (spent.length === 0) throw invalidToken();
  const [user] = await deps.db.auth
    .update(users)
    .set({ emailVerifiedAt: now })
    .where(and(eq(users.id, spent[0]!.userId), isNull(users.deletedAt)))
    .returning({ publicId: users.publicId });
  if (!user) throw invalidToken();
  await forgetUsers(deps.env, [user.publicId]);
  return user.publicId;
}

export const EMAIL_CHANGE_TTL_MS = 60 * 60_000;

/**
 * Email change, step 1: the caller proves the password; a single-use token goes to the NEW
 * address (proof of access to it). The account keeps its current email until confirmation.
 */
export async function requestEmailChange(
  deps: RecoveryDeps,
  user: { userInternalId: number; userId: string; email: string; sessionInternalId: number },
  input: { newEmail: string; password: string },
): Promise<void> {
  await requireCurrentPassword(deps.db, user.userInternalId, input.password);
  if (input.newEmail === user.email) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'newEmail', message: 'This is already your email' }] });
  const taken = await deps.db.auth.select({ id: users.id }).from(users).where(eq(users.email, input.newEmail)).get();
  if (taken) throw emailTaken();
  const token = await issueToken(deps.db, user.userInternalId, 'change_email', EMAIL_CHANGE_TTL_MS, input.newEmail, user.sessionInternalId);
  const link = `${deps.appUrl}/confirm-email-change?token=${encodeURIComponent(token)}`;
  await notify(deps, {
    userId: user.userId,
    channels: ['email'],
    category: 'security',
    kind: 'auth.email_change',
    to: { email: input.newEmail },
    content: { title: 'Confirm your new email address', body: `Confirm this address as the new email of your account (valid one hour):\n\n${link}\n\nConfirmation code: ${token}` },
  });
}

/**
 * Email change, step 2: spends the token and switches the address (verified by this very
 * proof); in the same batch every session but the one that asked ends. Returns the old address
 * for the notice.
 */
export async function confirmEmailChange(deps: RecoveryDeps, token: string): Promise<{ userId: string; newEmail: string; oldEmail: string; keptSessionId: string | null }> {
  const hash = await sha256Hex(token);
  const now = new Date();
  const claim = await deps.db.auth
    .select({ userId: oneTimeTokens.userId, newEmail: oneTimeTokens.newEmail, sessionId: oneTimeTokens.sessionId, oldEmail: users.email, publicId: users.publicId })
    .from(oneTimeTokens)
    .innerJoin(users, eq(users.id, oneTimeTokens.userId))
    .where(and(eq(oneTimeTokens.tokenHash, hash), eq(oneTimeTokens.purpose, 'change_email'), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, now), isNull(users.deletedAt)))
    .get();
  if (!claim?.newEmail) throw invalidToken();
  const newEmail = claim.newEmail;
  const spentNow = sql`(SELECT user_id FROM ${oneTimeTokens} WHERE token_hash = ${hash} AND used_at = ${now.getTime()})`;
  try {
    const [spent, , , kept] = await changingUsers(deps.env, [claim.publicId], () => deps.db.auth.batch([
      deps.db.auth
        .update(oneTimeTokens)
        .set({ usedAt: now })
        .where(and(eq(oneTimeTokens.tokenHash, hash), isNull(oneTimeTokens.usedAt), gt(oneTimeTokens.expiresAt, now)))
        .returning({ id: oneTimeTokens.id }),
      deps.db.auth
        .update(users)
        .set({ email: newEmail, emailVerifiedAt: now, updatedAt: now })
        .where(and(sql`${users.id} = ${spentNow}`, isNull(users.deletedAt))),
      deps.db.auth
        .update(sessions)
        .set({ revokedAt: now, revokedReason: 'email_change' })
        .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} = ${spentNow}`, sql`${sessions.id} IS NOT ${claim.sessionId}`)),
      deps.db.auth.select({ publicId: sessions.publicId }).from(sessions).where(claim.sessionId === null ? sql`0` : and(eq(sessions.id, claim.sessionId), isNull(sessions.revokedAt))),
    ]));
    if (spent.length === 0) throw invalidToken();
    return { userId: claim.publicId, newEmail: claim.newEmail, oldEmail: claim.oldEmail, keptSessionId: kept[0]?.publicId ?? null };
  } catch (err) {
    // Someone registered the address in the meantime: the unique index refuses the switch (and the batch with it).
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
}
