import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode } from '../../helpers/users';
import { clearOfStepBoundary } from '../../helpers/totp';

const step = () => Math.floor(Date.now() / 30_000);
const codeAt = (secret: string, offset: number) => generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step() + offset), 6);

async function enrol() {
  const u = await registerUser();
  const setup = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
  expect(setup.status).toBe(200);
  const { secret, otpauthUrl } = await json<{ secret: string; otpauthUrl: string }>(setup);
  expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/.+secret=/);
  await clearOfStepBoundary();
  const enable = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: codeAt(secret, -1) }, ip: freshIp() });
  expect(enable.status).toBe(200);
  const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(enable);
  return { u, secret, recoveryCodes };
}

const login = (email: string, password: string, mfaCode?: string) => call('/api/v1/auth/login', { body: { email, password, ...(mfaCode ? { mfaCode } : {}) }, ip: freshIp() });

describe('TOTP two-factor authentication', () => {
  it('enrols with the password and a code, stores the secret encrypted, returns 10 recovery codes', async () => {
    const { u, secret, recoveryCodes } = await enrol();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const row = await env.AUTH_DB.prepare('SELECT t.secret_ciphertext FROM mfa_totp t JOIN users u ON u.id = t.user_id WHERE u.public_id = ?').bind(u.user.id).first<{ secret_ciphertext: string }>();
    expect(row?.secret_ciphertext).toBeTruthy();
    expect(row?.secret_ciphertext).not.toContain(secret);
    const status = await json<{ enabled: boolean; recoveryCodesRemaining: number }>(await call('/api/v1/auth/mfa', { token: u.accessToken }));
    expect(status).toEqual({ enabled: true, recoveryCodesRemaining: 10 });
  });

  it('refuses setup without the right password and enable with a wrong code', async () => {
    const u = await registerUser();
    expect((await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: 'not my password' }, ip: freshIp() })).status).toBe(400);
    await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
    const bad = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: '000000' }, ip: freshIp() });
    expect(bad.status).toBe(400);
    expect((await login(u.email, u.password)).status).toBe(200);
  });

  it('asks for the code only after a correct password, accepts it once, refuses a replay', async () => {
    const { u, secret } = await enrol();
    const wrongPassword = await login(u.email, 'wrong password here');
    expect(await errorCode(wrongPassword)).toBe('INVALID_CREDENTIALS');
    const noCode = await login(u.email, u.password);
    expect(noCode.status).toBe(401);
    expect(await errorCode(noCode)).toBe('MFA_REQUIRED');
    const code = codeAt(secret, 0);
    expect((await login(u.email, u.password, code)).status).toBe(200);
    const replay = await login(u.email, u.password, code);
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe('INVALID_MFA_CODE');
  });

  it('accepts each recovery code exactly once', async () => {
    const { u, recoveryCodes } = await enrol();
    const rc = recoveryCodes[0]!;
    expect((await login(u.email, u.password, rc.toUpperCase())).status).toBe(200);
    expect(await errorCode(await login(u.email, u.password, rc))).toBe('INVALID_MFA_CODE');
    const status = await json<{ recoveryCodesRemaining: number }>(await call('/api/v1/auth/mfa', { token: u.accessToken }));
    expect(status.recoveryCodesRemaining).toBe(9);
  });

  it('turns off with password and a recovery code; login no longer asks', async () => {
    const { u, recoveryCodes } = await enrol();
    const off = await call('/api/v1/auth/mfa/totp/disable', { token: u.accessToken, body: { password: u.password, code: recoveryCodes[1]! }, ip: freshIp() });
    expect(off.status).toBe(204);
    expect((await login(u.email, u.password)).status).toBe(200);
  });

  it('does not let a stolen access token alone turn two-factor off', async () => {
    const { u, secret } = await enrol();
    const res = await call('/api/v1/auth/mfa/totp/disable', { token: u.accessToken, body: { password: 'guessed password', code: codeAt(secret, 1) }, ip: freshIp() });
    expect(res.status).toBe(400);
    expect(await errorCode(await login(u.email, u.password))).toBe('MFA_REQUIRED');
  });
});

describe('two-step sign-in and the auth rate limit', () => {
  it('never throttles a user who signs in correctly in two steps, again and again', async () => {
    const { u, recoveryCodes } = await enrol();
    const ip = freshIp();
    for (let i = 0; i < 7; i++) {
      const first = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip });
      expect(first.status, `round ${i}`).toBe(401);
      expect(await errorCode(first)).toBe('MFA_REQUIRED');
      const second = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password, mfaCode: recoveryCodes[i]! }, ip });
      expect(second.status, `round ${i}`).toBe(200);
    }
  });
});
