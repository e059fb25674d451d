import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode, me } from '../../helpers/users';

async function mailedToken(email: string, kind: RegExp): Promise<string> {
  return vi.waitFor(
    () => {
      const mail = recordedMessages((m) => m.channel === 'email' && m.to === email && kind.test(m.title)).at(-1);
      const token = mail && /code: ([A-Za-z0-9_-]{43})/.exec(mail.body)?.[1];
      if (!token) throw new Error('no mail yet');
      return token;
    },
    { timeout: 8000, interval: 100 },
  );
}

describe('password reset', () => {
  it('answers 202 alike for known and unknown emails', async () => {
    const u = await registerUser();
    const known = await call('/api/v1/auth/password/forgot', { body: { email: u.email }, ip: freshIp() });
    const unknown = await call('/api/v1/auth/password/forgot', { body: { email: `nobody-${crypto.randomUUID()}@example.com` }, ip: freshIp() });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.json()).toEqual(await unknown.json());
  });

  it('resets with the mailed single-use token, ends every session, and the old password stops working', async () => {
    const u = await registerUser();
    expect((await call('/api/v1/auth/password/forgot', { body: { email: u.email.toUpperCase() }, ip: freshIp() })).status).toBe(202);
    const token = await mailedToken(u.email, /reset/i);
    const stored = await env.AUTH_DB.prepare("SELECT token_hash FROM one_time_tokens WHERE purpose = 'reset_password' ORDER BY id DESC LIMIT 1").first<{ token_hash: string }>();
    expect(stored?.token_hash).not.toBe(token);
    const res = await call('/api/v1/auth/password/reset', { body: { token, newPassword: 'a brand new passphrase' }, ip: freshIp() });
    expect(res.status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    expect((await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() })).status).toBe(401);
    expect((await call('/api/v1/auth/login', { body: { email: u.email, password: 'a brand new passphrase' }, ip: freshIp() })).status).toBe(200);
    const again = await call('/api/v1/auth/password/reset', { body: { token, newPassword: 'yet another passphrase' }, ip: freshIp() });
    expect(again.status).toBe(400);
  });

  it('refuses expired, unknown and malformed tokens, and a weak new password, changing nothing', async () => {
    const u = await registerUser();
    await call('/api/v1/auth/password/forgot', { body: { email: u.email }, ip: freshIp() });
    const token = await mailedToken(u.email, /reset/i);
    const weak = await call('/api/v1/auth/password/reset', { body: { token, newPassword: 'password123' }, ip: freshIp() });
    expect(weak.status).toBe(400);
    await env.AUTH_DB.prepare("UPDATE one_time_tokens SET expires_at = 1 WHERE purpose = 'reset_password'").run();
    for (const t of [token, 'A'.repeat(43), 'short', "' OR 1=1 --"]) {
      const res = await call('/api/v1/auth/password/reset', { body: { token: t, newPassword: 'a brand new passphrase' }, ip: freshIp() });
      expect(res.status, t).toBe(400);
      expect(await errorCode(res)).toBe('VALIDATION_ERROR');
    }
    expect((await me(u.accessToken)).status).toBe(200);
  });

  it('lets only one of two concurrent resets with the same token win', async () => {
    const u = await registerUser();
    await call('/api/v1/auth/password/forgot', { body: { email: u.email }, ip: freshIp() });
    const token = await mailedToken(u.email, /reset/i);
    const [a, b] = await Promise.all([
      call('/api/v1/auth/password/reset', { body: { token, newPassword: 'first new passphrase' }, ip: freshIp() }),
      call('/api/v1/auth/password/reset', { body: { token, newPassword: 'second new passphrase' }, ip: freshIp() }),
    ]);
    expect([a.status, b.status].sort()).toEqual([204, 400]);
  });
});

describe('email verification', () => {
  it('mails a verification link at registration; the token verifies the address once', async () => {
    const u = await registerUser();
    const token = await mailedToken(u.email, /confirm/i);
    expect((await call('/api/v1/auth/email/verify', { body: { token }, ip: freshIp() })).status).toBe(204);
    expect((await json<{ emailVerified: boolean }>(await me(u.accessToken))).emailVerified).toBe(true);
    expect((await call('/api/v1/auth/email/verify', { body: { token }, ip: freshIp() })).status).toBe(400);
  });

  it('resends on request with a fresh token that replaces the previous one', async () => {
    const u = await registerUser();
    const first = await mailedToken(u.email, /confirm/i);
    expect((await call('/api/v1/auth/email/verify/request', { method: 'POST', token: u.accessToken, ip: freshIp() })).status).toBe(202);
    const second = await vi.waitFor(
      () => {
        const t = recordedMessages((m) => m.to === u.email && /confirm/i.test(m.title))
          .map((m) => /code: ([A-Za-z0-9_-]{43})/.exec(m.body)?.[1])
          .find((x) => x && x !== first);
        if (!t) throw new Error('no second mail yet');
        return t;
      },
      { timeout: 8000, interval: 100 },
    );
    expect((await call('/api/v1/auth/email/verify', { body: { token: first }, ip: freshIp() })).status).toBe(400);
    expect((await call('/api/v1/auth/email/verify', { body: { token: second }, ip: freshIp() })).status).toBe(204);
  });
});
