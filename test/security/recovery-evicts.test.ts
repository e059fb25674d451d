import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { recordedMessages } from '../../src/features/notifications/channels/recording';
import { call, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { clearOfStepBoundary } from '../helpers/totp';
import { me } from '../helpers/users';

async function mailed(email: string, title: RegExp, code = /code: ([A-Za-z0-9_-]{43})/): Promise<string> {
  return vi.waitFor(
    () => {
      const mail = recordedMessages((m) => m.channel === 'email' && m.to === email && title.test(m.title)).at(-1);
      const token = mail && code.exec(mail.body)?.[1];
      if (!token) throw new Error('no mail yet');
      return token;
    },
    { timeout: 8000, interval: 100 },
  );
}

const notice = (email: string, title: RegExp) =>
  vi.waitFor(() => {
    const mail = recordedMessages((m) => m.channel === 'email' && m.to === email && title.test(m.title)).at(-1);
    if (!mail) throw new Error('no notice yet');
    return mail;
  }, { timeout: 8000, interval: 100 });

async function login(u: { email: string; password: string }, headers: Record<string, string> = {}): Promise<TokenPair> {
  const res = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp(), headers });
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

async function openSocket(user: TokenPair) {
  const t = await json<{ ticket: string }>(await call('/api/v1/notifications/stream/ticket', { method: 'POST', token: user.accessToken }));
  const res = await call(`/api/v1/notifications/stream?ticket=${encodeURIComponent(t.ticket)}`, { headers: { Upgrade: 'websocket' } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const closes: number[] = [];
  ws.addEventListener('close', (e) => closes.push(e.code));
  ws.accept();
  return { ws, closes };
}

describe('recovery evicts everyone', () => {
  it('password reset revokes every session, refresh token and API key, closes live sockets and sends a notice', async () => {
    const u = await registerUser();
    const intruder = await login(u, { 'User-Agent': 'intruder-browser' });
    const key = await call('/api/v1/api-keys', { token: intruder.accessToken, body: { name: 'backdoor', permissions: [] } });
    expect(key.status).toBe(201);
    const { key: apiKey } = await json<{ key: string }>(key);
    const socket = await openSocket(intruder);
    await call('/api/v1/auth/password/forgot', { body: { email: u.email }, ip: freshIp() });
    const token = await mailed(u.email, /reset/i);
    const reset = await call('/api/v1/auth/password/reset', { body: { token, newPassword: 'a brand new passphrase' }, ip: freshIp(), headers: { 'User-Agent': 'owner-phone' } });
    expect(reset.status).toBe(204);
    for (const t of [u.accessToken, intruder.accessToken]) expect((await me(t)).status).toBe(401);
    for (const r of [u.refreshToken, intruder.refreshToken]) expect((await call('/api/v1/auth/refresh', { body: { refreshToken: r }, ip: freshIp() })).status).toBe(401);
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': apiKey } })).status).toBe(401);
    const live = await env.AUTH_DB.prepare('SELECT count(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.public_id = ? AND k.revoked_at IS NULL').bind(u.user.id).first<{ n: number }>();
    expect(live?.n).toBe(0);
    await vi.waitFor(() => expect(socket.closes).toEqual([4003]), { timeout: 5000 });
    const mail = await notice(u.email, /password was reset/i);
    expect(mail.body).toContain('owner-phone');
  });

  it('password change keeps the current session, ends the others and sends a notice with time and device', async () => {
    const u = await registerUser();
    const other = await login(u);
    const res = await call('/api/v1/auth/password', { token: u.accessToken, body: { currentPassword: u.password, newPassword: 'another long passphrase' }, ip: freshIp(), headers: { 'User-Agent': 'laptop-firefox' } });
    expect(res.status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    const mail = await notice(u.email, /password was changed/i);
    expect(mail.body).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(mail.body).toContain('laptop-firefox');
  });

  it('turning two-factor on and off ends every other session and sends notices', async () => {
    const u = await registerUser();
    const other = await login(u);
    const setup = await json<{ secret: string }>(await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() }));
    await clearOfStepBoundary(12_000);
    const step = BigInt(Math.floor(Date.now() / 30_000));
    const code = (offset: bigint) => generateHOTP(decodeBase32IgnorePadding(setup.secret), step + offset, 6);
    expect((await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: code(-1n) }, ip: freshIp() })).status).toBe(200);
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    await notice(u.email, /two-factor authentication is on/i);
    const third = await json<TokenPair>(await call('/api/v1/auth/login', { body: { email: u.email, password: u.password, mfaCode: code(0n) }, ip: freshIp() }));
    expect((await call('/api/v1/auth/mfa/totp/disable', { token: u.accessToken, body: { password: u.password, code: code(1n) }, ip: freshIp() })).status).toBe(204);
    expect((await me(third.accessToken)).status).toBe(401);
    expect((await me(u.accessToken)).status).toBe(200);
    await notice(u.email, /two-factor authentication is off/i);
  });

  it('a confirmed email change keeps the requesting session, ends the others and tells the old address', async () => {
    const u = await registerUser();
    const other = await login(u);
    const newEmail = `new-${crypto.randomUUID().slice(0, 8)}@example.com`;
    expect((await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail, password: u.password }, ip: freshIp() })).status).toBe(202);
    const token = await mailed(newEmail, /new email/i);
    expect((await call('/api/v1/auth/email/change/confirm', { body: { token }, ip: freshIp() })).status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    await notice(u.email, /email address was changed/i);
  });
});
