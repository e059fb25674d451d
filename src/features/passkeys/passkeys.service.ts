import { and, asc, eq, gt, inArray, isNull, lt } from 'drizzle-orm';
import type { AuthDb, Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { passkeys, users, webauthnChallenges } from '../../db/schema/auth';
import { base64url, randomToken } from '../../lib/crypto';
import { AppError } from '../../lib/errors';
import { SUPPORTED_ALGS, verifyAssertion, verifyRegistration, WebAuthnError, type RelyingParty, type UserVerification } from '../../security/webauthn';

export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Enough for every device a person owns; bounds the excludeCredentials list and the table. */
export const MAX_PASSKEYS_PER_USER = 20;

/** The relying party of this environment (wrangler.toml [vars]); missing vars fall back to local dev. */
export function relyingParty(env: Partial<CloudflareBindings>): RelyingParty {
  const origins = (env.WEBAUTHN_ORIGINS ?? 'http://localhost:8787')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return { id: env.WEBAUTHN_RP_ID?.trim() || 'localhost', name: env.WEBAUTHN_RP_NAME?.trim() || 'app-ubr', origins };
}

/** The WebAuthn user handle: opaque bytes, here the user's public id (no email, no PII). */
const userHandle = (userPublicId: string) => base64url(new TextEncoder().encode(userPublicId));

async function newChallenge(db: Databases, ceremony: 'register' | 'login', userId: number | null) {
  const challenge = randomToken(32);
  const [row] = await db.auth
    .insert(webauthnChallenges)
    .values({ ceremony, userId, challenge, expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS) })
    .returning({ publicId: webauthnChallenges.publicId });
  return { challengeId: row!.publicId, challenge };
}

/**
 * Spends a challenge by one conditional UPDATE before the response is looked at: single use
 * even under concurrency, 5 minutes, and only for the ceremony (and registering user) it was
 * issued for. Null when spent, expired, unknown or someone else's.
 */
async function spendChallenge(db: Databases, challengeId: string, ceremony: 'register' | 'login', userId: number | null): Promise<string | null> {
  const now = new Date();
  const [row] = await db.auth
    .update(webauthnChallenges)
    .set({ usedAt: now })
    .where(
      and(
        eq(webauthnChallenges.publicId, challengeId),
        eq(webauthnChallenges.ceremony, ceremony),
        userId === null ? isNull(webauthnChallenges.userId) : eq(webauthnChallenges.userId, userId),
        isNull(webauthnChallenges.usedAt),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning({ challenge: webauthnChallenges.challenge });
  return row?.challenge ?? null;
}

const TIMEOUT = CHALLENGE_TTL_MS;

export async function registrationOptions(db: Databases, rp: RelyingParty, user: { userInternalId: number; userId: string; email: string }) {
  const existing = await db.auth.select({ id: passkeys.credentialId, transports: passkeys.transports }).from(passkeys).where(eq(passkeys.userId, user.userInternalId));
  if (existing.length >= MAX_PASSKEYS_PER_USER) throw new AppError(422, 'BUSINESS_RULE', { message: `At most ${MAX_PASSKEYS_PER_USER} passkeys per account` });
  const { challengeId, challenge } = await newChallenge(db, 'register', user.userInternalId);
  return {
    challengeId,
    options: {
      rp: { id: rp.id, name: rp.name },
      user: { id: userHandle(user.userId), name: user.email, displayName: user.email },
      challenge,
      pubKeyCredParams: SUPPORTED_ALGS.map((alg) => ({ type: 'public-key' as const, alg })),
      timeout: TIMEOUT,
      attestation: 'none' as const,
      authenticatorSelection: { residentKey: 'required' as const, requireResidentKey: true, userVerification: 'required' as const },
      excludeCredentials: existing.map((c) => ({ id: c.id, type: 'public-key' as const, transports: c.transports })),
    },
  };
}

export interface RegisterInput {
  challengeId: string;
  name?: string;
  credential: { rawId: string; response: { clientDataJSON: string; attestationObject: string; transports?: string[] } };
}

export type Verified<T> = { ok: true; value: T } | { ok: false; reason: string };

export async function register(db: Databases, rp: RelyingParty, user: { userInternalId: number }, input: RegisterInput): Promise<Verified<typeof passkeys.$inferSelect>> {
  const challenge = await spendChallenge(db, input.challengeId, 'register', user.userInternalId);
  if (!challenge) return { ok: false, reason: 'challenge spent, expired or unknown' };
  let cred;
  try {
    cred = await verifyRegistration({ rawId: input.credential.rawId, ...input.credential.response }, { challenge, rp });
  } catch (err) {
    if (err instanceof WebAuthnError) return { ok: false, reason: err.reason };
    throw err;
  }
  try {
    const [row] = await db.auth
      .insert(passkeys)
      .values({
        userId: user.userInternalId,
        credentialId: cred.credentialId,
        publicKey: cred.publicKey,
        counter: cred.counter,
        transports: input.credential.response.transports ?? [],
        name: input.name ?? 'Passkey',
        deviceType: cred.backupEligible ? 'multiDevice' : 'singleDevice',
        backedUp: cred.backedUp,
        aaguid: cred.aaguid,
      })
      .returning();
    return { ok: true, value: row! };
  } catch (err) {
    // The credential id is unique across accounts: a credential is never moved to another user.
    if (isUniqueViolation(err)) throw new AppError(409, 'PASSKEY_EXISTS');
    throw err;
  }
}

export async function loginOptions(db: Databases, rp: RelyingParty) {
  const { challengeId, challenge } = await newChallenge(db, 'login', null);
  return { challengeId, options: { challenge, rpId: rp.id, timeout: TIMEOUT, userVerification: 'required' as const, allowCredentials: [] } };
}

export interface LoginInput {
  challengeId: string;
  credential: { rawId: string; response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string | null } };
}

/** Who the assertion proves, or why not. Unknown credential, bad signature, counter: one answer to the client. */
export type LoginResult = { ok: true; userInternalId: number; passkeyId: string } | { ok: false; reason: string; userInternalId?: number };

export async function login(db: Databases, rp: RelyingParty, input: LoginInput): Promise<LoginResult> {
  const challenge = await spendChallenge(db, input.challengeId, 'login', null);
  if (!challenge) return { ok: false, reason: 'challenge spent, expired or unknown' };
  const pk = await db.auth.select().from(passkeys).where(eq(passkeys.credentialId, input.credential.rawId)).get();
  if (!pk) return { ok: false, reason: 'unknown credential' };
  return checkAssertion(db, rp, pk, challenge, input.credential.response, 'required');
}

/**
 * Verifies an assertion of the stored passkey `pk` for `challenge` (already spent by the
 * caller), checks the user handle when the authenticator sent one, and moves the counter.
 */
export async function checkAssertion(
  db: Databases,
  rp: RelyingParty,
  pk: typeof passkeys.$inferSelect,
  challenge: string,
  response: LoginInput['credential']['response'],
  userVerification: UserVerification,
): Promise<LoginResult> {
  let result;
  try {
    result = await verifyAssertion(response, { challenge, rp, publicKey: pk.publicKey, counter: pk.counter, userVerification });
  } catch (err) {
    if (err instanceof WebAuthnError) return { ok: false, reason: err.reason, userInternalId: pk.userId };
    throw err;
  }
  const handle = response.userHandle;
  if (handle) {
    const owner = await db.auth.select({ publicId: users.publicId }).from(users).where(eq(users.id, pk.userId)).get();
    if (!owner || userHandle(owner.publicId) !== handle) return { ok: false, reason: 'user handle mismatch', userInternalId: pk.userId };
  }
  // Conditional on the counter we checked against: two concurrent uses of one assertion state cannot both pass.
  const moved = await db.auth
    .update(passkeys)
    .set({ counter: result.counter, backedUp: result.backedUp, lastUsedAt: new Date() })
    .where(and(eq(passkeys.id, pk.id), eq(passkeys.counter, pk.counter)))
    .returning({ id: passkeys.id });
  if (moved.length === 0) return { ok: false, reason: 'counter moved concurrently', userInternalId: pk.userId };
  return { ok: true, userInternalId: pk.userId, passkeyId: pk.publicId };
}

export function list(db: Databases, userInternalId: number) {
  return db.auth.select().from(passkeys).where(eq(passkeys.userId, userInternalId)).orderBy(asc(passkeys.id));
}

export async function rename(db: Databases, userInternalId: number, id: string, name: string) {
  const [row] = await db.auth
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.publicId, id), eq(passkeys.userId, userInternalId)))
    .returning();
  return row ?? null;
}

export async function remove(db: Databases, userInternalId: number, id: string): Promise<boolean> {
  const rows = await db.auth
    .delete(passkeys)
    .where(and(eq(passkeys.publicId, id), eq(passkeys.userId, userInternalId)))
    .returning({ id: passkeys.id });
  return rows.length > 0;
}

export const toView = (p: typeof passkeys.$inferSelect) => ({
  id: p.publicId,
  name: p.name,
  createdAt: p.createdAt.toISOString(),
  lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
  deviceType: p.deviceType,
  backedUp: p.backedUp,
  transports: p.transports,
});

/** Expired ceremony challenges (spent ones expire just the same), at most `limit`: for the cleanup cron. */
export function deleteExpiredChallenges(db: AuthDb, now: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: webauthnChallenges.id }).from(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, now)).limit(limit);
  return db.delete(webauthnChallenges).where(inArray(webauthnChallenges.id, batch));
}
