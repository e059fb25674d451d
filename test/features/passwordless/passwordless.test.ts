import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { runAt } from '../../cron/cron-helpers';
import { clearOfStepBoundary } from '../../helpers/totp';
import { errorCode, me } from '../../helpers/users';

type Start = { flowId: string; expiresIn: number; message: string };

async function start(kind: 'email-otp' | 'magic-link', email: string): Promise<Start> {
  const res = await call(`/api/v1/auth/${kind}`, { body: { email }, ip: freshIp() });
  expect(res.status).toBe(202);
  return json<Start>(res);
}

/** The n-th mail of this kind to the address (1-based), once the queue consumer recorded it. */
async function mailed(email: string, pattern: RegExp, n = 1): Promise<string> {
  return vi.waitFor(
    () => {
      const found = recordedMessages((m) => m.channel === 'email' && m.to === email).map((m) => pattern.exec(`${m.title}\n${m.body}`)?.[1]).filter(Boolean);
      if (found.length < n) throw new Error('no mail yet');
      return found[n - 1]!;
    },
    { timeout: 8000, interval: 100 },
  );
}
const CODE = /sign-in code is (\d{6})/;
const LINK = /magic-link\?token=([A-Za-z0-9_-]{43})/;

const verifyOtp = (flowId: string, code: string) => call('/api/v1/auth/email-otp/verify', { body: { flowId, code }, ip: freshIp() });
const verifyLink = (flowId: string, token: string) => call('/api/v1/auth/magic-link/verify', { body: { flowId, token }, ip: freshIp() });

describe('email code sign-in', () => {
  it('signs in with the mailed code once, and marks the email verified', async () => {
    const u = await registerUser();
    const flow = await start('email-otp', u.email.toUpperCase());
    expect(flow.expiresIn).toBe(600);
    const code = await mailed(u.email, CODE);
    const stored = await env.AUTH_DB.prepare('SELECT secret_hash, flow_hash FROM passwordless_flows ORDER BY id DESC LIMIT 1').first<{ secret_hash: string; flow_hash: string }>();
    expect(stored?.secret_hash).not.toContain(code);
    expect(stored?.flow_hash).not.toBe(flow.flowId);
    const res = await verifyOtp(flow.flowId, code);
    expect(res.status).toBe(200);
    const pair = await json<{ user: { id: string }; accessToken: string }>(res);
    expect(pair.user.id).toBe(u.user.id);
    expect((await me(pair.accessToken)).status).toBe(200);
    const verified = await env.AUTH_DB.prepare('SELECT email_verified_at FROM users WHERE public_id = ?').bind(u.user.id).first<{ email_verified_at: number | null }>();
    expect(verified?.email_verified_at).not.toBeNull();
    const again = await verifyOtp(flow.flowId, code);
    expect(again.status).toBe(401);
    expect(await errorCode(again)).toBe('INVALID_SIGN_IN_CODE');
  });

  it('answers unknown emails exactly like known ones, and mails nothing', async () => {
    const u = await registerUser();
    const known = await start('email-otp', u.email);
    const nobody = `nobody-${crypto.randomUUID()}@example.com`;
    const unknown = await start('email-otp', nobody);
    expect(Object.keys(unknown)).toEqual(Object.keys(known));
    expect(unknown.message).toBe(known.message);
    await mailed(u.email, CODE);
    expect(recordedMessages((m) => m.to === nobody)).toEqual([]);
    expect((await verifyOtp(unknown.flowId, '123456')).status).toBe(401);
  });

  it('binds a code to the request that asked for it', async () => {
    const u = await registerUser();
    const first = await start('email-otp', u.email);
    const firstCode = await mailed(u.email, CODE, 1);
    const second = await start('email-otp', u.email);
    await mailed(u.email, CODE, 2);
    // The first request's code does not complete the second.
    expect((await verifyOtp(second.flowId, firstCode)).status).toBe(401);
    expect((await verifyOtp(first.flowId, firstCode)).status).toBe(200);
  });

  it('kills the flow after 5 wrong codes, even for the right code afterwards', async () => {
    const u = await registerUser();
    const flow = await start('email-otp', u.email);
    const code = await mailed(u.email, CODE);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) expect((await verifyOtp(flow.flowId, wrong)).status).toBe(401);
    expect((await verifyOtp(flow.flowId, code)).status).toBe(401);
  });

  it('refuses an expired code', async () => {
    const u = await registerUser();
    const flow = await start('email-otp', u.email);
    const code = await mailed(u.email, CODE);
    await env.AUTH_DB.prepare("UPDATE passwordless_flows SET expires_at = 1 WHERE method = 'email_otp' AND used_at IS NULL").run();
    expect((await verifyOtp(flow.flowId, code)).status).toBe(401);
  });

  it('refuses malformed input as a validation error', async () => {
    const res = await call('/api/v1/auth/email-otp/verify', { body: { flowId: 'x', code: '12' }, ip: freshIp() });
    expect(res.status).toBe(400);
  });
});

describe('magic link sign-in', () => {
  it('signs in once with the link token and the flow id of the asking request', async () => {
    const u = await registerUser();
    const flow = await start('magic-link', u.email);
    const token = await mailed(u.email, LINK);
    const res = await verifyLink(flow.flowId, token);
    expect(res.status).toBe(200);
    expect((await json<{ user: { id: string } }>(res)).user.id).toBe(u.user.id);
    expect((await verifyLink(flow.flowId, token)).status).toBe(401);
  });

  it('refuses a link for another flow, an expired link, and a code sent to the link route', async () => {
    const u = await registerUser();
    const a = await start('magic-link', u.email);
    const tokenA = await mailed(u.email, LINK, 1);
    const b = await start('magic-link', u.email);
    expect((await verifyLink(b.flowId, tokenA)).status).toBe(401);
    const otp = await start('email-otp', u.email);
    expect((await verifyLink(otp.flowId, tokenA)).status).toBe(401);
    await env.AUTH_DB.prepare("UPDATE passwordless_flows SET expires_at = 1 WHERE method = 'magic_link' AND used_at IS NULL").run();
    expect((await verifyLink(a.flowId, tokenA)).status).toBe(401);
  });

  it('answers unknown emails like known ones', async () => {
    const res = await start('magic-link', `nobody-${crypto.randomUUID()}@example.com`);
    expect(res.flowId).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('cleanup', () => {
  it('deletes expired passwordless flows and WebAuthn challenges, keeping live ones', async () => {
    const now = Date.now();
    for (const exp of [now - 1000, now + 600_000]) {
      await env.AUTH_DB.prepare(`INSERT INTO passwordless_flows (public_id, created_at, updated_at, method, flow_hash, secret_hash, expires_at) VALUES (?1, 0, 0, 'email_otp', ?1, 'x', ?2)`).bind(crypto.randomUUID(), exp).run();
      await env.AUTH_DB.prepare(`INSERT INTO webauthn_challenges (public_id, created_at, updated_at, ceremony, challenge, expires_at) VALUES (?1, 0, 0, 'login', 'x', ?2)`).bind(crypto.randomUUID(), exp).run();
    }
    await runAt('*/5 * * * *', now);
    const left = async (table: string) => (await env.AUTH_DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE expires_at <= ?1`).bind(now).first<number>('n')) ?? 0;
    expect(await left('passwordless_flows')).toBe(0);
    expect(await left('webauthn_challenges')).toBe(0);
    expect(await env.AUTH_DB.prepare('SELECT count(*) AS n FROM webauthn_challenges WHERE expires_at > ?1').bind(now).first<number>('n')).toBeGreaterThan(0);
  });
});

describe('two-factor accounts', () => {
  it('still ask for the second factor after the right email code', async () => {
    const u = await registerUser();
    const setup = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
    const { secret } = await json<{ secret: string }>(setup);
    await clearOfStepBoundary();
    const code = generateHOTP(decodeBase32IgnorePadding(secret), BigInt(Math.floor(Date.now() / 30_000)), 6);
    const enable = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code }, ip: freshIp() });
    expect(enable.status).toBe(200);
    const [recovery] = (await json<{ recoveryCodes: string[] }>(enable)).recoveryCodes;
    const flow = await start('email-otp', u.email);
    const mailedCode = await mailed(u.email, CODE);
    const bare = await verifyOtp(flow.flowId, mailedCode);
    expect(bare.status).toBe(401);
    expect(await errorCode(bare)).toBe('MFA_REQUIRED');
    const wrong = await call('/api/v1/auth/email-otp/verify', { body: { flowId: flow.flowId, code: mailedCode, mfaCode: '000000' }, ip: freshIp() });
    expect(await errorCode(wrong)).toBe('INVALID_MFA_CODE');
    const ok = await call('/api/v1/auth/email-otp/verify', { body: { flowId: flow.flowId, code: mailedCode, mfaCode: recovery }, ip: freshIp() });
    expect(ok.status).toBe(200);
  });
});
