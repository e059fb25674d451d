import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, inject, it } from 'vitest';
import { UpstashBackend } from '../../src/security/rate-limit/upstash-backend';
import { freshIp, PASSWORD } from '../helpers/api';
import { callWith, envWith, rateHeaders, wrongLogin } from './rate-limit-helpers';

// Real redis-server behind scripts/upstash-bridge.mjs (Upstash REST protocol), started by
// test/setup/global-redis.ts. Skipped only off CI when redis-server is not installed.
const bridge = inject('upstashBridge');
const freshEmail = () => `up-${crypto.randomUUID()}@example.com`;

describe.skipIf(!bridge)('Upstash backend against a real Redis', () => {
  const { url, token } = bridge ?? { url: '', token: '' };
  const backend = () => new UpstashBackend({ url, token, prefix: `test:${crypto.randomUUID()}` });
  const rule = { limit: 5, windowSeconds: 900 };

  it('admits up to the limit, then denies with a reset, and refunds', async () => {
    const b = backend();
    for (let i = 4; i >= 0; i -= 1) expect(await b.consume('k', rule, 'exact')).toMatchObject({ allowed: true, limit: 5, remaining: i });
    const denied = await b.consume('k', rule, 'exact');
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect(denied.resetSeconds).toBeGreaterThanOrEqual(1);
    expect(denied.resetSeconds).toBeLessThanOrEqual(900);
    expect((await b.refund('k', rule, 'exact')).remaining).toBe(1);
    expect((await b.consume('k', rule, 'exact')).allowed).toBe(true);
    expect((await b.consume('k', rule, 'exact')).allowed).toBe(false);
  });

  it('admits exactly the limit out of a parallel burst (one Lua script per check)', async () => {
    const b = backend();
    const results = await Promise.all(Array.from({ length: 30 }, () => b.consume('burst', { limit: 10, windowSeconds: 60 }, 'exact')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('serves the same tiers and headers through the app', async () => {
    const testEnv = envWith({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token });
    const email = freshEmail();
    const ip = freshIp();
    const responses = await Promise.all(Array.from({ length: 12 }, () => callWith(testEnv, '/api/v1/auth/login', { body: wrongLogin(email), ip })));
    const codes = responses.map((r) => r.status).sort();
    expect(codes).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    const limited = responses.find((r) => r.status === 429)!;
    expect(rateHeaders(limited)).toMatchObject({ 'RateLimit-Limit': '5', 'RateLimit-Remaining': '0', 'RateLimit-Policy': '5;w=900', 'X-RateLimit-Limit': '5' });
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
  });

  it('refunds successful registrations and limits anonymous callers', async () => {
    const testEnv = envWith({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token, RATE_LIMIT_ANONYMOUS: '2/60' });
    const ip = freshIp();
    for (let i = 0; i < 7; i += 1) expect((await callWith(testEnv, '/api/v1/auth/register', { body: { email: freshEmail(), password: PASSWORD }, ip })).status).toBe(201);
    const refresh = () => callWith(testEnv, '/api/v1/auth/refresh', { body: { refreshToken: 'nope' }, ip });
    expect((await refresh()).headers.get('RateLimit-Remaining')).toBe('1');
    expect((await refresh()).status).toBe(401);
    expect((await refresh()).status).toBe(429);
  });

  it('stores no email address in Redis', async () => {
    const email = freshEmail();
    await callWith(envWith({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token }), '/api/v1/auth/login', { body: wrongLogin(email), ip: freshIp() });
    const keys = await new Redis({ url, token, enableTelemetry: false }).keys('app-ubr:rl:*');
    expect(keys.some((k) => k.includes('auth:acct:'))).toBe(true);
    expect(keys.some((k) => k.includes('@') || k.includes(email.split('@')[0]!))).toBe(false);
  });

  it('fails closed on the auth tier when Upstash refuses the token', async () => {
    const res = await callWith(envWith({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: 'wrong-token' }), '/api/v1/auth/login', { body: wrongLogin(freshEmail()), ip: freshIp() });
    expect(res.status).toBe(503);
  });
});
