import { forgetUsers, publicIdOf } from '../auth/user-state';
import { and, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { AuthDb, Databases } from '../../db/client';
import { passwordlessFlows, users } from '../../db/schema/auth';
import { randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { isMfaEnabled, verifySecondFactor } from '../mfa/mfa.service';
import { notify } from '../notifications/notifications.service';

export const FLOW_TTL_MS = 10 * 60_000;
/** Wrong codes per flow before it dies: 5 guesses at 1 in 10^6 each. */
export const MAX_ATTEMPTS = 5;

export type Method = 'email_otp' | 'magic_link';

export interface PasswordlessDeps {
  db: Databases;
  env: CloudflareBindings;
  appUrl: string;
}

/** A uniformly random 6-digit code (rejection sampling: no modulo bias). */
export function sixDigitCode(): string {
  const buf = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0]! < 4_294_000_000) return String(buf[0]! % 1_000_000).padStart(6, '0');
  }
}

/**
 * The stored secret hashes the flow id with the mailed secret: a code only completes the flow
 * (the request) it was sent for, and a leaked table gives nothing to grind without the flow ids.
 */
const secretHash = (flowId: string, secret: string) => sha256Hex(`${flowId}:${secret}`);

/**
 * Opens a flow for any email: one lookup and one insert alike for known and unknown addresses
 * (an unknown one gets a flow that can never complete), and the mail goes out after the
 * response, so neither the answer nor its timing tells whether an account exists.
 */
export async function start(deps: PasswordlessDeps, method: Method, email: string): Promise<{ flowId: string; send: () => Promise<void> }> {
  const user = await deps.db.auth
    .select({ id: users.id, publicId: users.publicId })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletedAt)))
    .get();
  const flowId = randomToken(32);
  const secret = method === 'email_otp' ? sixDigitCode() : randomToken(32);
  await deps.db.auth.insert(passwordlessFlows).values({
    method,
    flowHash: await sha256Hex(flowId),
    secretHash: await secretHash(flowId, user ? secret : randomToken(32)),
    userId: user?.id ?? null,
    expiresAt: new Date(Date.now() + FLOW_TTL_MS),
  });
  const send = async () => {
    if (!user) return;
    const content =
      method === 'email_otp'
        ? { title: `Your sign-in code: ${secret}`, body: `Your sign-in code is ${secret}. It works once, within 10 minutes, on the device where you asked for it.\n\nIf you did not ask for it, ignore this message.` }
        : {
            title: 'Your sign-in link',
            body: `Open this link on the device where you asked to sign in (it works once, within 10 minutes):\n\n${deps.appUrl}/magic-link?token=${secret}\n\nIf you did not ask for it, ignore this message.`,
          };
    await notify(deps, { userId: user.publicId, channels: ['email'], category: 'security', kind: `auth.${method}`, to: { email }, content });
  };
  return { flowId, send };
}

export type FinishResult = { ok: true; userInternalId: number } | { ok: false; reason: 'unknown_spent_expired_or_locked' | 'wrong_secret' | 'spent' | 'mfa_required' | 'mfa_invalid' };

/**
 * Takes an attempt first (one conditional UPDATE: at most MAX_ATTEMPTS guesses per flow, even
 * in parallel), then compares the secret in constant time. The right one spends the flow by a
 * conditional UPDATE and, in the same batch, marks the address verified (the mail proved it).
 */
export async function finish(deps: PasswordlessDeps, method: Method, flowId: string, secret: string, mfaCode?: string): Promise<FinishResult> {
  const now = new Date();
  const flowHash = await sha256Hex(flowId);
  const [row] = await deps.db.auth
    .update(passwordlessFlows)
    .set({ attempts: sql`${passwordlessFlows.attempts} + 1` })
    .where(
      and(
        eq(passwordlessFlows.flowHash, flowHash),
        eq(passwordlessFlows.method, method),
        isNull(passwordlessFlows.usedAt),
        gt(passwordlessFlows.expiresAt, now),
        lt(passwordlessFlows.attempts, MAX_ATTEMPTS),
      ),
    )
    .returning({ id: passwordlessFlows.id, userId: passwordlessFlows.userId, secretHash: passwordlessFlows.secretHash });
  if (!row || row.userId === null) return { ok: false, reason: 'unknown_spent_expired_or_locked' };
  if (!(await timingSafeEqualStrings(await secretHash(flowId, secret), row.secretHash))) return { ok: false, reason: 'wrong_secret' };
  // The mail proves the inbox, not the second factor: an account with two-factor on needs its
  // code here too, as at password login (the flow stays open for the retry with the code).
  if (await isMfaEnabled(deps.db, row.userId)) {
    if (mfaCode === undefined) return { ok: false, reason: 'mfa_required' };
    const user = await deps.db.auth.select({ publicId: users.publicId, email: users.email }).from(users).where(eq(users.id, row.userId)).get();
    const factor = user && (await verifySecondFactor({ db: deps.db, encryptionKey: deps.env.MFA_ENCRYPTION_KEY, issuer: '' }, { userInternalId: row.userId, userId: user.publicId, email: user.email }, mfaCode));
    if (!factor) return { ok: false, reason: 'mfa_invalid' };
  }
  const spentNow = sql`(SELECT user_id FROM ${passwordlessFlows} WHERE id = ${row.id} AND used_at = ${now.getTime()})`;
  const [spent] = await deps.db.auth.batch([
    deps.db.auth
      .update(passwordlessFlows)
      .set({ usedAt: now })
      .where(and(eq(passwordlessFlows.id, row.id), isNull(passwordlessFlows.usedAt)))
      .returning({ userId: passwordlessFlows.userId }),
    deps.db.auth
      .update(users)
      .set({ emailVerifiedAt: now })
      .where(and(sql`${users.id} = ${spentNow}`, isNull(users.emailVerifiedAt))),
  ]);
  if (spent.length === 0 || spent[0]!.userId === null) return { ok: false, reason: 'spent' };
  // The address may have been verified just now: the user's other sessions see it next request.
  await forgetUsers(deps.env, [await publicIdOf(deps.db, spent[0]!.userId)]);
  return { ok: true, userInternalId: spent[0]!.userId };
}

/** Expired email-code and magic-link flows (spent ones expire just the same), at most `limit`: for the cleanup cron. */
export function deleteExpiredFlows(db: AuthDb, now: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: passwordlessFlows.id }).from(passwordlessFlows).where(lt(passwordlessFlows.expiresAt, now)).limit(limit);
  return db.delete(passwordlessFlows).where(inArray(passwordlessFlows.id, batch));
}
