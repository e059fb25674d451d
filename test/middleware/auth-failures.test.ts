import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { getConfig } from '../../src/lib/config';
import { call, freshIp, json, registerUser } from '../helpers/api';
import { callWithEnv, decodeToken, ed25519Signer, forgeToken, validClaims, validHeader } from '../helpers/tokens';
import { errorCode, registerAdmin } from '../helpers/users';

const LIMIT = getConfig(env).rateLimits.authFailures.limit;

/** AUTH_DB with a count of the statements prepared on it. */
function countingAuthDb() {
  const counter = { reads: 0 };
  const db = new Proxy(env.AUTH_DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'prepare' || prop === 'batch' || prop === 'exec') counter.reads += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { db, counter };
}

/** USER_STATE with a count of the session checks sent to it (the hot path's one round trip). */
function countingUserState() {
  const counter = { checks: 0 };
  const ns = new Proxy(env.USER_STATE, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'get') return (value as (...a: unknown[]) => unknown).bind(target);
      return (id: DurableObjectId) => {
        counter.checks += 1;
        return target.get(id);
      };
    },
  });
  return { ns, counter };
}

/** Well-formed keys that match nothing: each one costs a lookup unless the IP is refused first. */
const badKey = () => `ubr_${'abcdefghij'}_${crypto.randomUUID().replace(/-/g, '').padEnd(43, 'x').slice(0, 43)}`;

async function auditCount(action: string, ip: string): Promise<number> {
  return (await env.LOGS_DB.prepare('SELECT count(*) AS n FROM audit_logs WHERE action = ?1 AND ip = ?2').bind(action, ip).first<number>('n')) ?? 0;
}

describe('failed authentication is limited per IP before any lookup', () => {
  it(`answers 429 after ${LIMIT} bad API keys from one IP, with no further AUTH_DB reads; other IPs and good keys are unaffected`, async () => {
    const admin = await registerAdmin();
    const created = await json<{ key: string }>(await call('/api/v1/api-keys', { token: admin.accessToken, body: { name: 'svc', permissions: ['users:read'] } }));
    const ip = freshIp();
    const { db, counter } = countingAuthDb();
    const statuses: number[] = [];
    const readsAfter: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await callWithEnv({ AUTH_DB: db }, '/api/v1/users', { ip, headers: { 'X-API-Key': badKey() } });
      statuses.push(res.status);
      readsAfter.push(counter.reads);
      if (res.status === 429) {
        expect(await errorCode(res)).toBe('RATE_LIMITED');
        expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
        expect(res.headers.get('RateLimit-Limit')).toBe(String(LIMIT));
      }
    }
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    // One lookup per counted failure, none once refused.
    expect(readsAfter[LIMIT - 1]).toBe(LIMIT);
    expect(readsAfter.at(-1)).toBe(LIMIT);

    // Malformed keys and bearer tokens from that IP are refused alike; so is a good key (shared NAT: the trade-off).
    expect((await call('/api/v1/users', { ip, headers: { 'X-API-Key': 'nonsense' } })).status).toBe(429);
    expect((await call('/api/v1/users', { ip, token: admin.accessToken })).status).toBe(429);
    expect((await call('/api/v1/users', { ip, headers: { 'X-API-Key': created.key } })).status).toBe(429);
    // Public routes and requests without credentials are not concerned.
    expect((await call('/api/v1/health', { ip })).status).toBe(200);
    expect((await call('/api/v1/users', { ip })).status).toBe(401);

    // Another IP is unaffected; a good key from a fresh IP works.
    expect((await call('/api/v1/users', { ip: freshIp(), headers: { 'X-API-Key': badKey() } })).status).toBe(401);
    expect((await call('/api/v1/users', { ip: freshIp(), headers: { 'X-API-Key': created.key } })).status).toBe(200);

    // Audited, but sampled: one event per IP and kind per minute, whatever the flood.
    await vi.waitFor(async () => {
      expect(await auditCount('apikey.invalid', ip)).toBe(1);
      expect(await auditCount('rate_limit.exceeded', ip)).toBe(1);
    }, { timeout: 8000 });
  });

  it('counts bearer failures too: a token of an ended session stops reaching the session check', async () => {
    const u = await registerUser();
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: u.accessToken, ip: freshIp() })).status).toBe(204);
    const ip = freshIp();
    // The session check is the user's UserState object (one RPC per request): once the IP is
    // refused, no further check is sent.
    const { ns, counter } = countingUserState();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) statuses.push((await callWithEnv({ USER_STATE: ns }, '/api/v1/users/me', { ip, token: u.accessToken })).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    expect(counter.checks).toBe(LIMIT);

    // Forged or malformed tokens count as well (no database read, but signature work).
    const other = freshIp();
    const forgedStatuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) forgedStatuses.push((await call('/api/v1/users/me', { ip: other, headers: { Authorization: 'Bearer a.b.c' } })).status);
    expect(forgedStatuses.slice(LIMIT)).toEqual([429, 429]);
    await vi.waitFor(async () => expect(await auditCount('auth.token_invalid', ip)).toBe(1), { timeout: 8000 });
  });

  it('does not count expired tokens we signed: clients behind one NAT refreshing are not locked out', async () => {
    const u = await registerUser();
    const { payload } = decodeToken(u.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const expired = await forgeToken(validHeader(), validClaims({ sub: payload.sub as string, sid: payload.sid as string }, { iat: now - 3600, nbf: now - 3600, exp: now - 2700 }), ed25519Signer());
    const ip = freshIp();
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await call('/api/v1/users/me', { ip, token: expired });
      expect(res.status).toBe(401);
    }
    expect((await call('/api/v1/users/me', { ip, token: u.accessToken })).status).toBe(200);
  });
});
