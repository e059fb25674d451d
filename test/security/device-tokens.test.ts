import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { call, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { errorCode, me } from '../helpers/users';
import { decodeToken, hs256Signer, forgeToken } from '../helpers/tokens';

const LOGIN = '/api/v1/auth/login';
const REGISTER = '/api/v1/auth/register';
type Pair = TokenPair & { deviceToken: string };

const wrong = (email: string, ip = freshIp()) => call(LOGIN, { body: { email, password: 'not the password at all' }, ip });

async function auditCount(action: string): Promise<number> {
  return (await env.LOGS_DB.prepare('SELECT count(*) AS n FROM audit_logs WHERE action = ?').bind(action).first<{ n: number }>())?.n ?? 0;
}

describe('device tokens (OWASP device cookies)', () => {
  it('are returned by registration and login, bound to the user, and reused by the same device', async () => {
    const u = (await registerUser()) as Awaited<ReturnType<typeof registerUser>> & { deviceToken: string };
    expect(typeof u.deviceToken).toBe('string');
    const first = decodeToken(u.deviceToken);
    expect(first.header).toMatchObject({ alg: 'HS256', typ: 'device+jwt' });
    expect(first.payload.sub).toBe(u.user.id);
    expect(JSON.stringify(first.payload)).not.toContain(u.email);
    const again = await json<Pair>(await call(LOGIN, { body: { email: u.email, password: u.password, deviceToken: u.deviceToken }, ip: freshIp() }));
    expect(decodeToken(again.deviceToken).payload.did).toBe(first.payload.did);
    const elsewhere = await json<Pair>(await call(LOGIN, { body: { email: u.email, password: u.password }, ip: freshIp() }));
    expect(decodeToken(elsewhere.deviceToken).payload.did).not.toBe(first.payload.did);
  });

  it('keep the owner signing in from a known device while an attacker spends the account budget from 8 IPs', async () => {
    const owner = await json<Pair>(await call(REGISTER, { body: { email: `owner-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip: freshIp() }));
    const email = owner.user.email;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await wrong(email)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    // The account is also under the growing lock now; the known device is not.
    const locked = await env.AUTH_DB.prepare('SELECT login_locked_until AS t FROM users WHERE public_id = ?').bind(owner.user.id).first<{ t: number | null }>();
    expect(locked?.t).toBeGreaterThan(Date.now());
    const fromDevice = await call(LOGIN, { body: { email, password: 'correct horse battery staple', deviceToken: owner.deviceToken }, ip: freshIp() });
    expect(fromDevice.status).toBe(200);
    expect((await me((await json<Pair>(fromDevice)).accessToken)).status).toBe(200);
    // An unknown client (no token) with the right password, from a new IP, is still throttled.
    const unknown = await call(LOGIN, { body: { email, password: 'correct horse battery staple' }, ip: freshIp() });
    expect(unknown.status).toBe(429);
  });

  it('give a device its own exact budget: guessing with a stolen device token stops after 5', async () => {
    const u = await json<Pair>(await call(REGISTER, { body: { email: `dev-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip: freshIp() }));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      statuses.push((await call(LOGIN, { body: { email: u.user.email, password: `guess number ${i}`, deviceToken: u.deviceToken }, ip: freshIp() })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // Device failures do not lock the account for everyone else.
    expect((await call(LOGIN, { body: { email: u.user.email, password: 'correct horse battery staple' }, ip: freshIp() })).status).toBe(200);
  });

  it("treat a forged, expired or another account's token as untrusted (account budget) and audit it", async () => {
    const victim = await json<Pair>(await call(REGISTER, { body: { email: `v-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip: freshIp() }));
    const attacker = await json<Pair>(await call(REGISTER, { body: { email: `a-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip: freshIp() }));
    const before = await auditCount('auth.device_token_invalid');
    const payload = decodeToken(victim.deviceToken).payload;
    const forged = await forgeToken({ alg: 'HS256', typ: 'device+jwt' }, payload, hs256Signer(new TextEncoder().encode('guessed secret')));
    const expired = await forgeToken({ alg: 'HS256', typ: 'device+jwt' }, { ...payload, exp: 1 }, hs256Signer(new TextEncoder().encode('guessed secret')));
    const tokens = [attacker.deviceToken, forged, expired, 'garbage', attacker.deviceToken];
    const statuses: number[] = [];
    for (const deviceToken of tokens) statuses.push((await call(LOGIN, { body: { email: victim.user.email, password: 'wrong wrong wrong', deviceToken }, ip: freshIp() })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // They all spent the victim's shared account budget.
    const sixth = await call(LOGIN, { body: { email: victim.user.email, password: 'wrong wrong wrong', deviceToken: attacker.deviceToken }, ip: freshIp() });
    expect(sixth.status).toBe(429);
    expect(await errorCode(sixth)).toBe('RATE_LIMITED');
    await vi.waitFor(async () => expect(await auditCount('auth.device_token_invalid')).toBeGreaterThanOrEqual(before + 6), { timeout: 8000 });
  });
});

describe('registration and resend limits', () => {
  it('counts successful registrations per IP: the 11th in an hour is 429 with Retry-After and rate headers', async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i += 1) {
      expect((await call(REGISTER, { body: { email: `bulk-${i}-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip })).status).toBe(201);
    }
    const res = await call(REGISTER, { body: { email: `bulk-x-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(3000);
    expect(res.headers.get('RateLimit-Limit')).toBe('10');
    expect(res.headers.get('RateLimit-Remaining')).toBe('0');
    // Another network is unaffected.
    expect((await call(REGISTER, { body: { email: `other-${crypto.randomUUID()}@example.com`, password: 'correct horse battery staple' }, ip: freshIp() })).status).toBe(201);
  });

  it('sends the verification mail again at most 3 times an hour per account', async () => {
    const u = await registerUser();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call('/api/v1/auth/email/verify/request', { method: 'POST', token: u.accessToken, ip: freshIp() })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
  });
});
