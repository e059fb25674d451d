import { and, eq, gt, inArray, isNotNull, isNull, lt, or } from 'drizzle-orm';
import type { AuthDb, Databases } from '../../db/client';
import { passkeys, users } from '../../db/schema/auth';
import { mfaChallenges } from '../../db/schema/auth-mfa';
import { randomToken, sha256Hex } from '../../lib/crypto';
import type { RelyingParty } from '../../security/webauthn';
import { checkAssertion, type LoginInput } from '../passkeys/passkeys.service';

/** The MFA challenge's lifetime: the same 5 minutes as every WebAuthn ceremony. */
export const MFA_CHALLENGE_TTL_MS = 5 * 60_000;

/** What the MFA_REQUIRED answer carries when the account can also answer with a passkey. */
export interface MfaChallenge {
  token: string;
  expiresIn: number;
  methods: ('totp' | 'recovery_code' | 'passkey')[];
}

/**
 * Called once the password was right and no code came with it. An account with no passkey gets
 * null (the answer stays the plain MFA_REQUIRED of the TOTP contract, nothing is written).
 */
export async function issueMfaChallenge(db: Databases, userPublicId: string): Promise<MfaChallenge | null> {
  const owner = await db.auth
    .select({ id: users.id, passkey: passkeys.id })
    .from(users)
    .innerJoin(passkeys, eq(passkeys.userId, users.id))
    .where(eq(users.publicId, userPublicId))
    .limit(1)
    .get();
  if (!owner) return null;
  const token = randomToken(32);
  await db.auth.insert(mfaChallenges).values({ userId: owner.id, tokenHash: await sha256Hex(token), expiresAt: new Date(Date.now() + MFA_CHALLENGE_TTL_MS) });
  return { token, expiresIn: MFA_CHALLENGE_TTL_MS / 1000, methods: ['totp', 'recovery_code', 'passkey'] };
}

const live = (tokenHash: string, now: Date) => and(eq(mfaChallenges.tokenHash, tokenHash), isNull(mfaChallenges.usedAt), gt(mfaChallenges.expiresAt, now));

/**
 * WebAuthn request options bound to the MFA challenge: a fresh WebAuthn challenge stored on its
 * row (a second call replaces the first, e.g. after the user cancelled the browser prompt), the
 * user's own credentials as allowCredentials, user verification preferred (the password was the
 * first factor). Null when the MFA challenge is spent, expired or unknown.
 */
export async function passkeyOptions(db: Databases, rp: RelyingParty, token: string) {
  const now = new Date();
  const challenge = randomToken(32);
  const [row] = await db.auth
    .update(mfaChallenges)
    .set({ webauthnChallenge: challenge })
    .where(live(await sha256Hex(token), now))
    .returning({ userId: mfaChallenges.userId, expiresAt: mfaChallenges.expiresAt });
  if (!row) return null;
  const creds = await db.auth.select({ id: passkeys.credentialId, transports: passkeys.transports }).from(passkeys).where(eq(passkeys.userId, row.userId));
  return {
    options: {
      challenge,
      rpId: rp.id,
      timeout: Math.max(0, row.expiresAt.getTime() - now.getTime()),
      userVerification: 'preferred' as const,
      allowCredentials: creds.map((c) => ({ id: c.id, type: 'public-key' as const, transports: c.transports })),
    },
  };
}

export type PasskeyFactorResult = { ok: true; userInternalId: number; passkeyId: string } | { ok: false; reason: string; userInternalId?: number };

/**
 * The second step: spends the MFA challenge by one conditional UPDATE before the assertion is
 * looked at (single use under concurrency; a wrong assertion spends it too, so each password
 * proof buys one try), then checks the assertion against the challenge of the options call,
 * with a credential of that user only. Counter regressions are refused by checkAssertion.
 */
export async function verifyPasskeyFactor(db: Databases, rp: RelyingParty, input: { mfaToken: string; credential: LoginInput['credential'] }): Promise<PasskeyFactorResult> {
  const [row] = await db.auth
    .update(mfaChallenges)
    .set({ usedAt: new Date() })
    .where(and(live(await sha256Hex(input.mfaToken), new Date()), isNotNull(mfaChallenges.webauthnChallenge)))
    .returning({ userId: mfaChallenges.userId, challenge: mfaChallenges.webauthnChallenge });
  if (!row?.challenge) return { ok: false, reason: 'mfa challenge spent, expired, unknown or without options' };
  const pk = await db.auth
    .select()
    .from(passkeys)
    .where(and(eq(passkeys.credentialId, input.credential.rawId), eq(passkeys.userId, row.userId)))
    .get();
  if (!pk) return { ok: false, reason: 'credential not registered to this user', userInternalId: row.userId };
  return checkAssertion(db, rp, pk, row.challenge, input.credential.response, 'preferred');
}

/** A completed two-step sign-in clears the failed-login count, as a password login does. */
export async function clearLoginFailures(db: Databases, userInternalId: number): Promise<void> {
  await db.auth
    .update(users)
    .set({ failedLoginCount: 0, loginLockedUntil: null })
    .where(and(eq(users.id, userInternalId), or(gt(users.failedLoginCount, 0), isNotNull(users.loginLockedUntil))));
}

/** Expired MFA challenges (spent ones expire just the same), at most `limit`: for the cleanup cron. */
export function deleteExpiredMfaChallenges(db: AuthDb, now: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: mfaChallenges.id }).from(mfaChallenges).where(lt(mfaChallenges.expiresAt, now)).limit(limit);
  return db.delete(mfaChallenges).where(inArray(mfaChallenges.id, batch));
}
