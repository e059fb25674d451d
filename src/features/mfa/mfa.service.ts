import { and, eq, inArray, isNotNull, isNull, lt } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { mfaRecoveryCodes, mfaTotp } from '../../db/schema/auth-mfa';
import { AppError } from '../../lib/errors';
import { requireCurrentPassword } from '../users/users.service';
import { decryptSecret, encryptSecret, hashRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret, recoveryCodeCandidates, toBase32, totpUri } from '../../security/totp';

export interface MfaDeps {
  db: Databases;
  encryptionKey: string | undefined;
  issuer: string;
}

export interface MfaUser {
  userInternalId: number;
  userId: string;
  email: string;
}

const invalidCode = () => new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'code', message: 'Invalid or already used code' }] });

export async function mfaStatus(db: Databases, userInternalId: number) {
  const row = await db.auth.select({ enabledAt: mfaTotp.enabledAt }).from(mfaTotp).where(eq(mfaTotp.userId, userInternalId)).get();
  const remaining = await db.auth.$count(mfaRecoveryCodes, and(eq(mfaRecoveryCodes.userId, userInternalId), isNull(mfaRecoveryCodes.usedAt)));
  return { enabled: Boolean(row?.enabledAt), recoveryCodesRemaining: row?.enabledAt ? remaining : 0 };
}

/** Starts (or restarts) enrolment: a new secret, not active until a code confirms it. */
export async function setupTotp(deps: MfaDeps, user: MfaUser, password: string) {
  await requireCurrentPassword(deps.db, user.userInternalId, password);
  const existing = await deps.db.auth.select({ enabledAt: mfaTotp.enabledAt }).from(mfaTotp).where(eq(mfaTotp.userId, user.userInternalId)).get();
  if (existing?.enabledAt) throw new AppError(409, 'CONFLICT', { message: 'Two-factor authentication is already enabled' });
  const secret = newTotpSecret();
  const secretCiphertext = await encryptSecret(deps.encryptionKey, user.userId, secret);
  await deps.db.auth
    .insert(mfaTotp)
    .values({ userId: user.userInternalId, secretCiphertext })
    .onConflictDoUpdate({ target: mfaTotp.userId, set: { secretCiphertext, lastCounter: 0, updatedAt: new Date() } });
  return { secret: toBase32(secret), otpauthUrl: totpUri(deps.issuer, user.email, secret) };
}

async function storeRecoveryCodes({ db, encryptionKey }: MfaDeps, userInternalId: number) {
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map((c) => hashRecoveryCode(encryptionKey, c)));
  return { codes, statements: [db.auth.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userInternalId)), db.auth.insert(mfaRecoveryCodes).values(hashes.map((codeHash) => ({ userId: userInternalId, codeHash })))] as const };
}

/** Accepts a TOTP code once: the step is recorded with a conditional UPDATE (race-free replay guard). */
async function consumeTotp(deps: MfaDeps, user: MfaUser, code: string, enabledOnly: boolean): Promise<boolean> {
  const row = await deps.db.auth.select().from(mfaTotp).where(eq(mfaTotp.userId, user.userInternalId)).get();
  if (!row || (enabledOnly && !row.enabledAt)) return false;
  const step = await matchTotp(await decryptSecret(deps.encryptionKey, user.userId, row.secretCiphertext), code);
  if (step === null) return false;
  const updated = await deps.db.auth
    .update(mfaTotp)
    .set({ lastCounter: step })
    .where(and(eq(mfaTotp.id, row.id), lt(mfaTotp.lastCounter, step)))
    .returning({ id: mfaTotp.id });
  return updated.length > 0;
}

/**
 * Accepts a recovery code once, stored under its keyed hash or (issued before that) its bare
 * SHA-256; the conditional UPDATE makes two concurrent uses of one code succeed only once.
 */
async function consumeRecoveryCode({ db, encryptionKey }: MfaDeps, userInternalId: number, code: string): Promise<boolean> {
  const hashes = await recoveryCodeCandidates(encryptionKey, code);
  const used = await db.auth
    .update(mfaRecoveryCodes)
    .set({ usedAt: new Date() })
    .where(and(eq(mfaRecoveryCodes.userId, userInternalId), inArray(mfaRecoveryCodes.codeHash, hashes), isNull(mfaRecoveryCodes.usedAt)))
    .returning({ id: mfaRecoveryCodes.id });
  return used.length > 0;
}

export async function enableTotp(deps: MfaDeps, user: MfaUser, code: string): Promise<string[]> {
  if (!(await consumeTotp(deps, user, code, false))) throw invalidCode();
  const { codes, statements } = await storeRecoveryCodes(deps, user.userInternalId);
  await deps.db.auth.batch([
    deps.db.auth.update(mfaTotp).set({ enabledAt: new Date() }).where(and(eq(mfaTotp.userId, user.userInternalId), isNull(mfaTotp.enabledAt))),
    ...statements,
  ]);
  return codes;
}

/** Which second factor was used (a recovery code is audited as such). */
export async function disableTotp(deps: MfaDeps, user: MfaUser, password: string, code: string): Promise<SecondFactor> {
  await requireCurrentPassword(deps.db, user.userInternalId, password);
  const factor = await verifySecondFactor(deps, user, code);
  if (!factor) throw invalidCode();
  await deps.db.auth.batch([
    deps.db.auth.delete(mfaTotp).where(eq(mfaTotp.userId, user.userInternalId)),
    deps.db.auth.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, user.userInternalId)),
  ]);
  return factor;
}

export async function regenerateRecoveryCodes(deps: MfaDeps, user: MfaUser, password: string, code: string): Promise<{ codes: string[]; factor: SecondFactor }> {
  await requireCurrentPassword(deps.db, user.userInternalId, password);
  const factor = await verifySecondFactor(deps, user, code);
  if (!factor) throw invalidCode();
  const { codes, statements } = await storeRecoveryCodes(deps, user.userInternalId);
  await deps.db.auth.batch([...statements]);
  return { codes, factor };
}

export async function isMfaEnabled(db: Databases, userInternalId: number): Promise<boolean> {
  const row = await db.auth.select({ id: mfaTotp.id }).from(mfaTotp).where(and(eq(mfaTotp.userId, userInternalId), isNotNull(mfaTotp.enabledAt))).get();
  return Boolean(row);
}

export type SecondFactor = 'totp' | 'recovery_code';

/** A 6-digit TOTP code, or a recovery code (single use): which one was accepted, or false. */
export async function verifySecondFactor(deps: MfaDeps, user: MfaUser, code: string): Promise<SecondFactor | false> {
  if (/^\d{6}$/.test(code.trim())) return (await consumeTotp(deps, user, code.trim(), true)) && 'totp';
  return (await consumeRecoveryCode(deps, user.userInternalId, code)) && 'recovery_code';
}

