import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/lib/crypto';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { fromB64url } from '../../helpers/tokens';
import { errorCode } from '../../helpers/users';
import { clearOfStepBoundary } from '../../helpers/totp';

const step = () => Math.floor(Date.now() / 30_000);
const codeAt = (secret: string, offset: number) => generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step() + offset), 6);

async function enrol() {
  const u = await registerUser();
  const setup = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
  expect(setup.status).toBe(200);
  const { secret } = await json<{ secret: string }>(setup);
  await clearOfStepBoundary();
  const enable = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: codeAt(secret, -1) }, ip: freshIp() });
  expect(enable.status).toBe(200);
  const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(enable);
  return { u, secret, recoveryCodes };
}

const login = (email: string, password: string, mfaCode: string) => call('/api/v1/auth/login', { body: { email, password, mfaCode }, ip: freshIp() });

async function storedHashes(publicId: string) {
  const { results } = await env.AUTH_DB.prepare(
    'SELECT c.code_hash, c.used_at FROM mfa_recovery_codes c JOIN users u ON u.id = c.user_id WHERE u.public_id = ? ORDER BY c.id',
  )
    .bind(publicId)
    .all<{ code_hash: string; used_at: number | null }>();
  return results;
}

async function remaining(accessToken: string) {
  return (await json<{ recoveryCodesRemaining: number }>(await call('/api/v1/auth/mfa', { token: accessToken }))).recoveryCodesRemaining;
}

/** A code in the generated alphabet, fresh per call (code hashes are unique across users). */
function randomCode(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const chars = [...crypto.getRandomValues(new Uint8Array(10))].map((b) => alphabet[b % 32]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** A row as codes were stored before the keyed hash: bare SHA-256 of the hyphenated lower-case form. */
async function insertLegacyCode(publicId: string, code: string) {
  const now = Date.now();
  await env.AUTH_DB.prepare('INSERT INTO mfa_recovery_codes (public_id, user_id, code_hash, created_at, updated_at) SELECT ?, id, ?, ?, ? FROM users WHERE public_id = ?')
    .bind(crypto.randomUUID(), await sha256Hex(code), now, now, publicId)
    .run();
}

/** The keyed hash as specified, recomputed here with WebCrypto: HKDF-SHA256 (info "app-ubr recovery codes") → HMAC-SHA256. */
async function expectedKeyedHash(code: string): Promise<string> {
  const ikm = await crypto.subtle.importKey('raw', fromB64url(env.MFA_ENCRYPTION_KEY.replace(/=+$/, '')), 'HKDF', false, ['deriveBits']);
  const keyBytes = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('app-ubr recovery codes') }, ikm, 256);
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(code));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('MFA recovery codes', () => {
  it('accepts a code typed without its hyphen, in upper case or with a space, each code once', async () => {
    const { u, recoveryCodes } = await enrol();
    const [a, b, c] = recoveryCodes as [string, string, string];
    expect(a).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);

    expect((await login(u.email, u.password, a.replace('-', ''))).status).toBe(200);
    expect((await login(u.email, u.password, b.toUpperCase().replace('-', ''))).status).toBe(200);
    expect((await login(u.email, u.password, `${c.slice(0, 5).toUpperCase()} ${c.slice(6)}`)).status).toBe(200);
    expect(await remaining(u.accessToken)).toBe(7);

    // Spent, in whatever form it is typed again.
    for (const again of [a, a.toUpperCase(), b.replace('-', '')]) {
      const res = await login(u.email, u.password, again);
      expect(res.status, again).toBe(401);
      expect(await errorCode(res)).toBe('INVALID_MFA_CODE');
    }
    expect(await remaining(u.accessToken)).toBe(7);
  });

  it('accepts a code in lower or mixed case, with its hyphen', async () => {
    const { u, recoveryCodes } = await enrol();
    const mixed = [...recoveryCodes[5]!].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch)).join('');
    expect((await login(u.email, u.password, recoveryCodes[4]!.toLowerCase())).status).toBe(200);
    expect((await login(u.email, u.password, mixed)).status).toBe(200);
    expect(await remaining(u.accessToken)).toBe(8);
  });

  it('turns two-factor off with a recovery code typed without its hyphen', async () => {
    const { u, recoveryCodes } = await enrol();
    const off = await call('/api/v1/auth/mfa/totp/disable', { token: u.accessToken, body: { password: u.password, code: recoveryCodes[2]!.replace('-', '').toUpperCase() }, ip: freshIp() });
    expect(off.status).toBe(204);
  });

  it('lets only one of two concurrent logins spend the same code', async () => {
    const { u, recoveryCodes } = await enrol();
    const code = recoveryCodes[3]!;
    const results = await Promise.all([login(u.email, u.password, code), login(u.email, u.password, code.replace('-', '').toUpperCase())]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await remaining(u.accessToken)).toBe(9);
  });

  it('stores a keyed hash (HMAC with an HKDF-derived key), never the bare SHA-256 of a code', async () => {
    const { u, recoveryCodes } = await enrol();
    const stored = new Set((await storedHashes(u.user.id)).map((r) => r.code_hash));
    expect(stored.size).toBe(10);
    for (const code of recoveryCodes) {
      for (const form of [code, code.replace('-', ''), code.toUpperCase()]) expect(stored.has(await sha256Hex(form)), form).toBe(false);
      expect(stored.has(await expectedKeyedHash(code.replace('-', '')))).toBe(true);
    }
  });

  it('still accepts, once, a code stored as the bare SHA-256 of its hyphenated form (issued before the keyed hash)', async () => {
    const { u } = await enrol();
    const legacyCode = randomCode();
    await insertLegacyCode(u.user.id, legacyCode);
    expect(await remaining(u.accessToken)).toBe(11);

    expect((await login(u.email, u.password, legacyCode.replace('-', '').toUpperCase())).status).toBe(200);
    const replay = await login(u.email, u.password, legacyCode);
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe('INVALID_MFA_CODE');
    expect(await remaining(u.accessToken)).toBe(10);
  });

  it('regenerating replaces the old codes, legacy ones included', async () => {
    const { u, secret, recoveryCodes } = await enrol();
    const legacyCode = randomCode();
    await insertLegacyCode(u.user.id, legacyCode);
    const res = await call('/api/v1/auth/mfa/recovery-codes', { token: u.accessToken, body: { password: u.password, code: codeAt(secret, 0) }, ip: freshIp() });
    expect(res.status).toBe(200);
    const { recoveryCodes: fresh } = await json<{ recoveryCodes: string[] }>(res);
    expect(await errorCode(await login(u.email, u.password, legacyCode))).toBe('INVALID_MFA_CODE');
    expect(await errorCode(await login(u.email, u.password, recoveryCodes[0]!))).toBe('INVALID_MFA_CODE');
    expect((await login(u.email, u.password, fresh[0]!.replace('-', ''))).status).toBe(200);
  });
});
