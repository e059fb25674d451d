import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { freshIp, json } from '../helpers/api';
import { callWith, envWith, failingNamespace, rateHeaders, wrongLogin } from '../security/rate-limit-helpers';

const LOGIN = '/api/v1/auth/login';
const REFRESH = '/api/v1/auth/refresh';
const freshEmail = () => `rl-${crypto.randomUUID()}@example.com`;

afterEach(() => {
  vi.restoreAllMocks();
});

async function expectFailsClosed(res: Response) {
  expect(res.status).toBe(503);
  expect(res.headers.get('Retry-After')).toBe('10');
  const body = await json<{ error: { code: string; requestId: string } }>(res);
  expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
  expect(JSON.stringify(body)).not.toMatch(/limiter|Error:|stack/i);
}

describe('failure policy: auth fails closed, general tiers fail open', () => {
  it('answers 503 with Retry-After on the auth tier when the limiter throws', async () => {
    const errors = vi.spyOn(console, 'error');
    await expectFailsClosed(await callWith(envWith({ RATE_LIMITER: failingNamespace('throw') }), LOGIN, { body: wrongLogin(freshEmail()), ip: freshIp() }));
    expect(errors.mock.calls.some(([line]) => String(line).includes('auth tier fails closed'))).toBe(true);
  });

  it('serves general tiers without limits, with a logged warning, when the limiter throws', async () => {
    const warnings = vi.spyOn(console, 'warn');
    const res = await callWith(envWith({ RATE_LIMITER: failingNamespace('throw') }), REFRESH, { body: { refreshToken: 'nope' }, ip: freshIp() });
    expect(res.status).toBe(401); // the handler ran
    expect(rateHeaders(res)['RateLimit-Limit']).toBeNull();
    expect(warnings.mock.calls.some(([line]) => String(line).includes('failing open'))).toBe(true);
  });

  it('treats a limiter that hangs as failed (closed for auth, open for the rest)', async () => {
    const testEnv = envWith({ RATE_LIMITER: failingNamespace('hang') });
    const started = Date.now();
    await expectFailsClosed(await callWith(testEnv, LOGIN, { body: wrongLogin(freshEmail()), ip: freshIp() }));
    expect((await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip: freshIp() })).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails the same way when Upstash is configured but its REST API is broken', async () => {
    // A real local HTTP server that is not Upstash (it answers 404 text), through the real
    // Upstash client. (A closed port fails the same way, but workerd prints every refused
    // connection as an uncaught "Network connection lost", which made passing runs look broken.)
    const testEnv = envWith({ UPSTASH_REDIS_REST_URL: `${inject('pwned').origin}/not-upstash`, UPSTASH_REDIS_REST_TOKEN: 'unused' });
    await expectFailsClosed(await callWith(testEnv, LOGIN, { body: wrongLogin(freshEmail()), ip: freshIp() }));
    expect((await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip: freshIp() })).status).toBe(401);
  });

  it('fails the same way when the Upstash URL is malformed', async () => {
    const testEnv = envWith({ UPSTASH_REDIS_REST_URL: 'not a url', UPSTASH_REDIS_REST_TOKEN: 'unused' });
    await expectFailsClosed(await callWith(testEnv, LOGIN, { body: wrongLogin(freshEmail()), ip: freshIp() }));
    expect((await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip: freshIp() })).status).toBe(401);
  });
});

describe('RATE_LIMIT_BYPASS (benchmarks only)', () => {
  const hammer = async (testEnv: ReturnType<typeof envWith>) => {
    const ip = freshIp();
    const email = freshEmail();
    const out: number[] = [];
    for (let i = 0; i < 7; i += 1) out.push((await callWith(testEnv, LOGIN, { body: wrongLogin(email), ip })).status);
    return out;
  };

  it('turns limiting off in development', async () => {
    const testEnv = envWith({ APP_ENV: 'development', RATE_LIMIT_BYPASS: 'true' });
    expect(await hammer(testEnv)).toEqual(Array(7).fill(401));
    const res = await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' } });
    expect(res.headers.get('RateLimit-Limit')).toBeNull();
  });

  it('cannot turn limiting off in production, staging, or when APP_ENV is missing', async () => {
    for (const appEnv of ['production', 'staging', undefined]) {
      const statuses = await hammer(envWith({ APP_ENV: appEnv, RATE_LIMIT_BYPASS: 'true' }));
      expect(statuses.slice(5)).toEqual([429, 429]);
    }
  });
});
