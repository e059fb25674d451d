import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { sessions, users } from '../../db/schema/auth';
import type { AppConfig } from '../../lib/config';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { issueDeviceToken, type DeviceClaims } from '../../security/device-token';
import { AppError } from '../../lib/errors';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { ACCESS_TOKEN_TTL_SECONDS, getKeyRing, signAccessToken } from '../../security/jwt';
import { newPasswordRefusal } from '../../security/breached-passwords';
import { burnPasswordWork, hashPassword, needsRehash, passwordPolicyError, verifyPassword } from '../../security/password';
import { emailTaken } from './auth.errors';
import { isMfaEnabled, verifySecondFactor, type SecondFactor } from '../mfa/mfa.service';
import { createUserWithProfile, loadProfiles, requireCurrentPassword, toUserView, userColumns, type UserView } from '../users/users.service';

export interface AuthDeps {
  db: Databases;
  env: CloudflareBindings;
  config: AppConfig;
}

export interface ClientMeta {
  userAgent?: string | null;
  ip?: string | null;
}

export interface TokenPair {
  user: UserView;
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  /** Login and registration: the device token to send back with the next login and refreshes. */
  deviceToken?: string;
}

/** Failed logins before the growing lock starts, and its cap (never a permanent lockout). */
export const LOCK_AFTER_FAILURES = 5;
export const LOCK_BASE_MS = 30_000;
export const LOCK_MAX_MS = 15 * 60_000;

export function lockDurationMs(failures: number): number {
  if (failures < LOCK_AFTER_FAILURES) return 0;
  return Math.min(LOCK_MAX_MS, LOCK_BASE_MS * 2 ** (failures - LOCK_AFTER_FAILURES));
}

function ipPrefix(ip: string | null | undefined): string | null {
  if (!ip) return null;
  if (ip.includes(':')) return `${ip.split(':').slice(0, 4).join(':')}::/64`;
  return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

async function newRefreshToken(sessionPublicId: string) {
  const token = `${sessionPublicId}.${randomToken(32)}`;
  return { token, hash: await sha256Hex(token) };
}

export async function issueTokens(
  deps: AuthDeps,
  user: UserView,
  sessionPublicId: string,
  refreshToken: string,
  fixed?: { issuedAt: number; jti: string },
): Promise<TokenPair> {
  const ring = await getKeyRing(deps.env.JWT_SIGNING_KEYS);
  const accessToken = await signAccessToken(ring, { issuer: deps.config.jwtIssuer, audience: deps.config.jwtAudience }, user.id, sessionPublicId, fixed);
  const age = fixed ? Math.max(0, Math.floor(Date.now() / 1000) - fixed.issuedAt) : 0;
  return { user, accessToken, refreshToken, tokenType: 'Bearer', expiresIn: ACCESS_TOKEN_TTL_SECONDS - age };
}

/** A device token for the user: the same device id when the client proved one, else a new device. */
async function deviceTokenFor(deps: AuthDeps, user: { id: string; email: string }, deviceId?: string) {
  return issueDeviceToken(deps.env.DEVICE_TOKEN_SECRET, deps.config.jwtIssuer, { userId: user.id, email: user.email, deviceId });
}

/** Builds the statement that opens a session (a refresh-token family) for a user. */
async function sessionInsert(deps: AuthDeps, userId: number | ReturnType<typeof sql>, meta: ClientMeta, deviceId: string) {
  const publicId = uuidv7();
  const { token, hash } = await newRefreshToken(publicId);
  const now = new Date();
  const stmt = deps.db.auth.insert(sessions).values({
    publicId,
    userId: userId as number,
    refreshHash: hash,
    expiresAt: new Date(now.getTime() + deps.config.sessionAbsoluteTtlMs),
    lastUsedAt: now,
    userAgent: meta.userAgent?.slice(0, 256) ?? null,
    ipPrefix: ipPrefix(meta.ip),
    deviceId,
  });
  return { publicId, token, stmt };
}

export async function register(
  deps: AuthDeps,
  input: { email: string; password: string; fullName?: string },
  meta: ClientMeta,
): Promise<TokenPair> {
  const policy = await newPasswordRefusal(deps.env, input.password, input.email, passwordPolicyError);
  if (policy) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'password', message: policy }] });
  const existing = await deps.db.auth.select({ id: users.id }).from(users).where(eq(users.email, input.email)).get();
  if (existing) throw emailTaken();
  const passwordHash = await hashPassword(input.password);
  const userPublicId = uuidv7();
  const device = await deviceTokenFor(deps, { id: userPublicId, email: input.email });
  const session = await sessionInsert(deps, sql`(SELECT id FROM users WHERE public_id = ${userPublicId})`, meta, device.deviceId);
  const user = await createUserWithProfile(deps.db, {
    publicId: userPublicId,
    email: input.email,
    passwordHash,
    fullName: input.fullName ?? null,
    roleName: BUILT_IN_ROLES.user,
    extra: [session.stmt],
  });
  return { ...(await issueTokens(deps, user, session.publicId, session.token)), deviceToken: device.token };
}

export type LoginFailure = 'unknown_email' | 'wrong_password' | 'locked' | 'mfa_required' | 'mfa_invalid' | 'device_mismatch';
/** `secondFactor`: how a two-factor account proved it (a recovery code is audited as such). */
export type LoginResult = { ok: true; pair: TokenPair; userId: string; secondFactor?: SecondFactor } | { ok: false; userId: string | null; reason: LoginFailure };

/**
 * Password sign-in. `device` is a verified device token for this email (see
 * middleware/device.ts): its attempts were counted on the device's own budget by the limiter,
 * and the account's growing lock (caused by untrusted attempts, possibly an attacker's) does not
 * apply to it, nor do its failures feed that lock.
 */
export async function login(
  deps: AuthDeps,
  input: { email: string; password: string; mfaCode?: string },
  meta: ClientMeta,
  device: DeviceClaims | null = null,
): Promise<LoginResult> {
  const row = await deps.db.auth
    .select({
      ...userColumns,
      id: users.id,
      passwordHash: users.passwordHash,
      failedLoginCount: users.failedLoginCount,
      loginLockedUntil: users.loginLockedUntil,
    })
    .from(users)
    .where(and(eq(users.email, input.email), isNull(users.deletedAt)))
    .get();
  if (!row) {
    // Same status, body and cost as a wrong password: hash against nothing.
    await burnPasswordWork(input.password);
    return { ok: false, userId: null, reason: 'unknown_email' };
  }
  if (device && device.userId !== row.publicId) {
    // The address now belongs to another account than the one the device signed in to: the
    // attempt was counted on a device budget it has no right to, so it is refused unchecked.
    await burnPasswordWork(input.password);
    return { ok: false, userId: row.publicId, reason: 'device_mismatch' };
  }
  const now = Date.now();
  const locked = !device && row.loginLockedUntil !== null && row.loginLockedUntil.getTime() > now;
  const passwordOk = await verifyPassword(input.password, row.passwordHash);
  let secondFactor: 'ok' | 'missing' | 'invalid' = 'ok';
  let factorUsed: SecondFactor | undefined;
  if (passwordOk && !locked && (await isMfaEnabled(deps.db, row.id))) {
    if (!input.mfaCode) secondFactor = 'missing';
    else {
      const factor = await verifySecondFactor({ db: deps.db, encryptionKey: deps.env.MFA_ENCRYPTION_KEY, issuer: '' }, { userInternalId: row.id, userId: row.publicId, email: input.email }, input.mfaCode);
      if (factor) factorUsed = factor;
      else secondFactor = 'invalid';
    }
  }
  // A missing code is not a failed attempt (the client asks for it next); a wrong one is.
  if (secondFactor === 'missing') return { ok: false, userId: row.publicId, reason: 'mfa_required' };
  const valid = passwordOk && secondFactor === 'ok';
  if (!valid || locked) {
    if (!valid && !device) {
      const failures = row.failedLoginCount + 1;
      const lockMs = lockDurationMs(failures);
      await deps.db.auth
        .update(users)
        .set({
          failedLoginCount: sql`${users.failedLoginCount} + 1`,
          loginLockedUntil: lockMs > 0 ? new Date(now + lockMs) : row.loginLockedUntil,
        })
        .where(eq(users.id, row.id));
    }
    return { ok: false, userId: row.publicId, reason: locked ? 'locked' : secondFactor === 'invalid' ? 'mfa_invalid' : 'wrong_password' };
  }
  const issued = await deviceTokenFor(deps, { id: row.publicId, email: input.email }, device?.deviceId);
  const session = await sessionInsert(deps, row.id, meta, issued.deviceId);
  const updates: Partial<typeof users.$inferInsert> = {};
  if (row.failedLoginCount > 0 || row.loginLockedUntil !== null) Object.assign(updates, { failedLoginCount: 0, loginLockedUntil: null });
  // Parameters changed since this hash was made: upgrade it now that we hold the password.
  if (needsRehash(row.passwordHash)) updates.passwordHash = await hashPassword(input.password);
  // The user row is only written when something changed (no write, no updatedAt churn per login).
  if (Object.keys(updates).length > 0) await deps.db.auth.batch([session.stmt, deps.db.auth.update(users).set(updates).where(eq(users.id, row.id))]);
  else await session.stmt;
  // The view comes from the row read above (roles included) plus the profile: no second AUTH_DB read.
  const user = toUserView(row, (await loadProfiles(deps.db, [row.publicId])).get(row.publicId) ?? null);
  const pair = await issueTokens(deps, user, session.publicId, session.token);
  return { ok: true, pair: { ...pair, deviceToken: issued.token }, userId: row.publicId, ...(factorUsed ? { secondFactor: factorUsed } : {}) };
}

export async function revokeSession(db: Databases, sessionInternalId: number, reason: string): Promise<void> {
  await db.auth
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionInternalId), isNull(sessions.revokedAt)));
}

export async function revokeAllSessions(db: Databases, userInternalId: number, reason: string) {
  return db.auth
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.userId, userInternalId), isNull(sessions.revokedAt)));
}

/** Ends every session of the user but `keepSessionInternalId`; returns how many ended. */
export async function endOtherSessions(db: Databases, userInternalId: number, keepSessionInternalId: number, reason: string): Promise<number> {
  const ended = await db.auth
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.userId, userInternalId), isNull(sessions.revokedAt), sql`${sessions.id} <> ${keepSessionInternalId}`))
    .returning({ id: sessions.id });
  return ended.length;
}

export async function changePassword(
  deps: AuthDeps,
  auth: { userInternalId: number; sessionInternalId: number; email: string },
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  await requireCurrentPassword(deps.db, auth.userInternalId, input.currentPassword, 'currentPassword', 'Current password is incorrect');
  const policy = await newPasswordRefusal(deps.env, input.newPassword, auth.email, passwordPolicyError);
  if (policy) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'newPassword', message: policy }] });
  const now = new Date();
  const passwordHash = await hashPassword(input.newPassword);
  // New password and the end of every other session, atomically.
  await deps.db.auth.batch([
    deps.db.auth.update(users).set({ passwordHash, passwordChangedAt: now }).where(eq(users.id, auth.userInternalId)),
    deps.db.auth
      .update(sessions)
      .set({ revokedAt: now, revokedReason: 'password_change' })
      .where(and(eq(sessions.userId, auth.userInternalId), isNull(sessions.revokedAt), sql`${sessions.id} <> ${auth.sessionInternalId}`)),
  ]);
}

export async function listSessions(db: Databases, userInternalId: number) {
  return db.auth
    .select({
      id: sessions.publicId,
      internalId: sessions.id,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userInternalId), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
    .orderBy(sql`${sessions.id} DESC`)
    .limit(100);
}

export async function revokeOwnSession(db: Databases, userInternalId: number, sessionPublicId: string): Promise<boolean> {
  const res = await db.auth
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: 'user_revoked' })
    .where(and(eq(sessions.publicId, sessionPublicId), eq(sessions.userId, userInternalId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return res.length > 0;
}


/**
 * Signs in a user who proved who they are without a password (passkey, email code, magic
 * link, social sign-in): a new session and the same token pair as login, device token included.
 * Null when the user is gone (deleted meanwhile).
 */
export async function openSessionFor(deps: AuthDeps, userInternalId: number, meta: ClientMeta): Promise<TokenPair | null> {
  const row = await deps.db.auth
    .select({ ...userColumns, id: users.id })
    .from(users)
    .where(and(eq(users.id, userInternalId), isNull(users.deletedAt)))
    .get();
  if (!row) return null;
  const issued = await deviceTokenFor(deps, { id: row.publicId, email: row.email });
  const session = await sessionInsert(deps, row.id, meta, issued.deviceId);
  await session.stmt;
  const user = toUserView(row, (await loadProfiles(deps.db, [row.publicId])).get(row.publicId) ?? null);
  return { ...(await issueTokens(deps, user, session.publicId, session.token)), deviceToken: issued.token };
}
