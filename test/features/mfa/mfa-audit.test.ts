import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { clearOfStepBoundary } from '../../helpers/totp';

const step = () => Math.floor(Date.now() / 30_000);
const codeAt = (secret: string, offset: number) => generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step() + offset), 6);

type User = Awaited<ReturnType<typeof registerUser>>;

async function setup(u: User): Promise<string> {
  const res = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
  expect(res.status).toBe(200);
  return (await json<{ secret: string }>(res)).secret;
}

async function enrol() {
  const u = await registerUser();
  const secret = await setup(u);
  await clearOfStepBoundary();
  const enable = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: codeAt(secret, -1) }, ip: freshIp() });
  expect(enable.status).toBe(200);
  return { u, secret, recoveryCodes: (await json<{ recoveryCodes: string[] }>(enable)).recoveryCodes };
}

interface Row {
  action: string;
  outcome: string;
  details: Record<string, unknown> | null;
}

async function rows(targetId: string, prefix: string): Promise<Row[]> {
  const r = await env.LOGS_DB.prepare('SELECT action, outcome, details FROM audit_logs WHERE target_id = ?1 AND action LIKE ?2 ORDER BY occurred_at').bind(targetId, `${prefix}%`).all<{ action: string; outcome: string; details: string | null }>();
  return r.results.map((x) => ({ action: x.action, outcome: x.outcome, details: x.details ? (JSON.parse(x.details) as Record<string, unknown>) : null }));
}

const eventually = (fn: () => Promise<void>) => vi.waitFor(fn, { timeout: 8000, interval: 100 });
const body = (u: User, code: string, password = u.password) => ({ token: u.accessToken, body: { password, code }, ip: freshIp() });

describe('MFA audit trail', () => {
  it('audits wrong codes and passwords on setup, enable, disable and recovery-code regeneration as mfa.failure', async () => {
    const fresh = await registerUser();
    expect((await call('/api/v1/auth/mfa/totp/setup', { token: fresh.accessToken, body: { password: 'not the password' }, ip: freshIp() })).status).toBe(400);
    await setup(fresh);
    expect((await call('/api/v1/auth/mfa/totp/enable', { token: fresh.accessToken, body: { code: '000000' }, ip: freshIp() })).status).toBe(400);
    // A body refused by the schema guessed nothing: no event.
    expect((await call('/api/v1/auth/mfa/totp/enable', { token: fresh.accessToken, body: { code: 'abc' }, ip: freshIp() })).status).toBe(400);

    const { u, secret } = await enrol();
    expect((await call('/api/v1/auth/mfa/totp/disable', body(u, '000000'))).status).toBe(400);
    expect((await call('/api/v1/auth/mfa/totp/disable', body(u, codeAt(secret, 0), 'wrong password'))).status).toBe(400);
    expect((await call('/api/v1/auth/mfa/recovery-codes', body(u, 'aaaaa-bbbbb'))).status).toBe(400);

    await eventually(async () => {
      expect((await rows(fresh.user.id, 'mfa.failure')).map((r) => r.details)).toEqual([
        { operation: 'setup', field: 'password' },
        { operation: 'enable', field: 'code' },
      ]);
      expect((await rows(u.user.id, 'mfa.failure')).map((r) => r.details)).toEqual([
        { operation: 'disable', field: 'code' },
        { operation: 'disable', field: 'password' },
        { operation: 'recovery_codes', field: 'code' },
      ]);
    });
  });

  it('audits a wrong code at sign-in as auth.login failure (mfa_invalid)', async () => {
    const { u } = await enrol();
    const res = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password, mfaCode: '000000' }, ip: freshIp() });
    expect(res.status).toBe(401);
    await eventually(async () => expect((await rows(u.user.id, 'auth.login')).filter((r) => r.outcome === 'failure').map((r) => r.details?.reason)).toContain('mfa_invalid'));
  });

  it('audits every use of a recovery code (sign-in, disable, regeneration) and every regeneration', async () => {
    const { u, secret, recoveryCodes } = await enrol();
    const login = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password, mfaCode: recoveryCodes[0]! }, ip: freshIp() });
    expect(login.status).toBe(200);
    const regenerated = await call('/api/v1/auth/mfa/recovery-codes', body(u, recoveryCodes[1]!));
    expect(regenerated.status).toBe(200);
    const fresh = (await json<{ recoveryCodes: string[] }>(regenerated)).recoveryCodes;
    // With a TOTP code: a regeneration, no recovery-code use.
    expect((await call('/api/v1/auth/mfa/recovery-codes', body(u, codeAt(secret, 1)))).status).toBe(200);
    const since = await call('/api/v1/auth/mfa/recovery-codes', body(u, fresh[0]!));
    // The codes were replaced by the TOTP regeneration: the old one is refused (and audited as a failure).
    expect(since.status).toBe(400);

    await eventually(async () => {
      expect((await rows(u.user.id, 'mfa.recovery_code_used')).map((r) => r.details)).toEqual([{ operation: 'login' }, { operation: 'recovery_codes' }]);
      expect(await rows(u.user.id, 'mfa.recovery_codes_regenerated')).toHaveLength(2);
      expect((await rows(u.user.id, 'auth.login')).find((r) => r.outcome === 'success')?.details).toEqual({ secondFactor: 'recovery_code' });
    });

    const other = await enrol();
    expect((await call('/api/v1/auth/mfa/totp/disable', body(other.u, other.recoveryCodes[0]!))).status).toBe(204);
    await eventually(async () => expect((await rows(other.u.user.id, 'mfa.recovery_code_used')).map((r) => r.details)).toEqual([{ operation: 'disable' }]));
  });
});
