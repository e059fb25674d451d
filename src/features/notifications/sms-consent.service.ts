import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type * as z from 'zod/mini';
import type { Databases } from '../../db/client';
import { smsConsentProofs, smsConsents } from '../../db/schema/app';
import { sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { notify, type NotifyDeps } from './notifications.service';
import type { SmsConsentPending, SmsConsentResponse } from './preferences.schemas';
import { toConsentView } from './preferences.service';

/**
 * Double opt-in for promotional SMS. Nobody can record consent for a number they do not hold:
 * an opt-in texts a 6-digit code to the number over the transactional channel and the consent
 * is recorded (and the number moves to the caller, if another account held it) only when that
 * code comes back. A withdrawal is immediate and never moves a number.
 */
export const CODE_TTL_MS = 10 * 60_000;
export const MAX_CODE_ATTEMPTS = 5;

type Evidence = Record<string, string | null>;

/** Uniform over 000000–999999: rejection sampling, so no digit is favoured by the modulo. */
function sixDigitCode(): string {
  const buf = new Uint32Array(1);
  const ceiling = Math.floor(0x1_0000_0000 / 1_000_000) * 1_000_000;
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0]! < ceiling) return String(buf[0]! % 1_000_000).padStart(6, '0');
  }
}

// Bound to the user and the number: a code sent for one number never confirms another. Six
// digits under any hash can be searched offline, so the hash keeps codes out of reads, logs and
// backups; what stops guessing is the 10-minute expiry and the 5 attempts.
const codeHash = (userPublicId: string, phone: string, code: string) => sha256Hex(`app-ubr:sms-consent:${userPublicId}:${phone}:${code}`);

/**
 * Starts an opt-in: stores the code's hash (replacing the caller's previous pending opt-in) and
 * enqueues the code to the number. Answers alike whoever holds the number, so the response
 * tells nothing about other accounts.
 */
export async function requestSmsOptIn(
  deps: NotifyDeps,
  userPublicId: string,
  input: { phone: string; timeZone?: string },
  evidence: Evidence,
  now = new Date(),
): Promise<z.infer<typeof SmsConsentPending>> {
  const code = sixDigitCode();
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
  const values = { phone: input.phone, codeHash: await codeHash(userPublicId, input.phone, code), expiresAt, attempts: 0, timeZone: input.timeZone ?? null, evidence, updatedAt: now };
  await deps.db.app
    .insert(smsConsentProofs)
    .values({ userPublicId, createdAt: now, ...values })
    .onConflictDoUpdate({ target: smsConsentProofs.userPublicId, set: values });
  await notify(deps, {
    userId: userPublicId,
    channels: ['sms_transactional'],
    // Like an email verification: delivered even with the caller's SMS switch off (STOP still wins).
    category: 'security',
    kind: 'notification.sms_consent_code',
    to: { phone: input.phone },
    content: { title: 'Confirm marketing texts', body: `Your app-ubr code to confirm marketing texts to this number: ${code}. It expires in 10 minutes. If you did not ask for it, ignore this message.` },
  });
  return { phone: input.phone, status: 'verification_sent', expiresAt: expiresAt.toISOString() };
}

export type VerifyResult =
  | { ok: true; consent: z.infer<typeof SmsConsentResponse>; movedFromAnotherAccount: boolean }
  | { ok: false; reason: 'no_pending_code' | 'wrong_code'; attemptsLeft: number };

/**
 * Completes an opt-in with the texted code. Each try spends one attempt first (one conditional
 * UPDATE: parallel guesses cannot exceed the limit), then the code is compared in constant time.
 * The right code records the consent, moves the number to the caller, and spends the proof.
 */
export async function verifySmsOptIn(db: Databases, userPublicId: string, code: string, now = new Date()): Promise<VerifyResult> {
  const [proof] = await db.app
    .update(smsConsentProofs)
    .set({ attempts: sql`${smsConsentProofs.attempts} + 1`, updatedAt: now })
    .where(and(eq(smsConsentProofs.userPublicId, userPublicId), gt(smsConsentProofs.expiresAt, now), lt(smsConsentProofs.attempts, MAX_CODE_ATTEMPTS)))
    .returning();
  if (!proof) return { ok: false, reason: 'no_pending_code', attemptsLeft: 0 };
  if (!(await timingSafeEqualStrings(await codeHash(userPublicId, proof.phone, code), proof.codeHash))) {
    return { ok: false, reason: 'wrong_code', attemptsLeft: MAX_CODE_ATTEMPTS - proof.attempts };
  }
  const previous = await db.app.select({ owner: smsConsents.userPublicId }).from(smsConsents).where(eq(smsConsents.phone, proof.phone)).get();
  // The request's evidence (when, network prefix, client), plus how and when the number was proven.
  const evidence = { ...proof.evidence, method: 'sms_code', verifiedAt: now.toISOString() };
  const [, [row]] = await db.app.batch([
    db.app.delete(smsConsentProofs).where(eq(smsConsentProofs.id, proof.id)),
    db.app
      .insert(smsConsents)
      .values({ userPublicId, phone: proof.phone, promotionalOptIn: true, promotionalChangedAt: now, source: 'api', evidence, timeZone: proof.timeZone, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: smsConsents.phone,
        set: {
          userPublicId,
          promotionalOptIn: true,
          promotionalChangedAt: now,
          source: 'api',
          evidence,
          // The previous holder's time zone does not follow the number to its new holder.
          timeZone: sql`CASE WHEN ${smsConsents.userPublicId} = ${userPublicId} THEN coalesce(${proof.timeZone}, ${smsConsents.timeZone}) ELSE ${proof.timeZone} END`,
          updatedAt: now,
        },
      })
      .returning(),
  ]);
  // A STOP (transactionalOptOut) stays: only the recipient's START lifts it.
  return { ok: true, consent: toConsentView(row!), movedFromAnotherAccount: Boolean(previous && previous.owner !== '' && previous.owner !== userPublicId) };
}

/**
 * Withdraws promotional consent at once, for any number: an opt-out is always honoured. It never
 * moves the number: a number another account holds stays with it (and its time zone is not
 * shown); an unknown number is recorded as the caller's, opted out. Cancels a pending opt-in.
 */
export async function withdrawSmsConsent(db: Databases, userPublicId: string, input: { phone: string; timeZone?: string }, evidence: Evidence, now = new Date()) {
  const timeZone = input.timeZone ?? null;
  const [[row]] = await db.app.batch([
    db.app
      .insert(smsConsents)
      .values({ userPublicId, phone: input.phone, promotionalOptIn: false, promotionalChangedAt: now, source: 'api', evidence, timeZone, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: smsConsents.phone,
        set: {
          promotionalOptIn: false,
          promotionalChangedAt: now,
          source: 'api',
          evidence,
          timeZone: sql`CASE WHEN ${smsConsents.userPublicId} = ${userPublicId} THEN coalesce(${timeZone}, ${smsConsents.timeZone}) ELSE ${smsConsents.timeZone} END`,
          updatedAt: now,
        },
      })
      .returning(),
    db.app.delete(smsConsentProofs).where(and(eq(smsConsentProofs.userPublicId, userPublicId), eq(smsConsentProofs.phone, input.phone))),
  ]);
  const view = toConsentView(row!);
  return row!.userPublicId === userPublicId ? view : { ...view, timeZone: null };
}

/** The caller's opt-in waiting for its code (unexpired, attempts left), if any. */
export async function pendingSmsOptIn(db: Databases, userPublicId: string, now = new Date()) {
  const row = await db.app
    .select({ phone: smsConsentProofs.phone, expiresAt: smsConsentProofs.expiresAt })
    .from(smsConsentProofs)
    .where(and(eq(smsConsentProofs.userPublicId, userPublicId), gt(smsConsentProofs.expiresAt, now), lt(smsConsentProofs.attempts, MAX_CODE_ATTEMPTS)))
    .get();
  return row ? { phone: row.phone, expiresAt: row.expiresAt.toISOString() } : null;
}
