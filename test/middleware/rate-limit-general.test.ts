import { describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/middleware/auth';
import { factory } from '../../src/lib/factory';
import type { RouteSpec } from '../../src/lib/route';
import { rateLimit } from '../../src/middleware/rate-limit';
import { freshIp, registerUser } from '../helpers/api';
import { callWith, envWith, rateHeaders } from '../security/rate-limit-helpers';

const REFRESH = '/api/v1/auth/refresh';
const ME = '/api/v1/users/me';

describe('general tiers (anonymous, standard, expensive)', () => {
  it('limits anonymous callers per IP, with headers on every answer', async () => {
    const testEnv = envWith({ RATE_LIMIT_ANONYMOUS: '3/60' });
    const ip = freshIp();
    for (const remaining of ['2', '1', '0']) {
      const res = await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip });
      expect(res.status).toBe(401);
      expect(rateHeaders(res)).toMatchObject({ 'RateLimit-Limit': '3', 'RateLimit-Remaining': remaining, 'RateLimit-Policy': '3;w=60', 'X-RateLimit-Remaining': remaining });
    }
    const limited = await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('Retry-After'))).toBeLessThanOrEqual(60);
    expect((await callWith(testEnv, REFRESH, { body: { refreshToken: 'nope' }, ip: freshIp() })).status).toBe(401);
  });

  it('limits signed-in callers per user, whatever their IP, one budget across routes', async () => {
    const testEnv = envWith({ RATE_LIMIT_STANDARD: '3/60' });
    const alice = await registerUser();
    const bob = await registerUser();
    expect((await callWith(testEnv, ME, { token: alice.accessToken, ip: freshIp() })).status).toBe(200);
    expect((await callWith(testEnv, '/api/v1/auth/sessions', { token: alice.accessToken, ip: freshIp() })).status).toBe(200);
    const third = await callWith(testEnv, ME, { token: alice.accessToken, ip: freshIp() });
    expect(rateHeaders(third)).toMatchObject({ 'RateLimit-Limit': '3', 'RateLimit-Remaining': '0', 'RateLimit-Policy': '3;w=60' });
    const ip = freshIp();
    expect((await callWith(testEnv, ME, { token: alice.accessToken, ip })).status).toBe(429);
    // Same IP, another user: a separate budget.
    expect((await callWith(testEnv, ME, { token: bob.accessToken, ip })).status).toBe(200);
  });

  it('admits exactly the limit out of a parallel burst of signed-in requests', async () => {
    const testEnv = envWith({ RATE_LIMIT_STANDARD: '10/60' });
    const user = await registerUser();
    const responses = await Promise.all(Array.from({ length: 30 }, () => callWith(testEnv, ME, { token: user.accessToken })));
    const codes = responses.map((r) => r.status);
    expect(codes.filter((s) => s === 200)).toHaveLength(10);
    expect(codes.filter((s) => s === 429)).toHaveLength(20);
  });

  it('does not limit or decorate routes of tier none', async () => {
    const testEnv = envWith({ RATE_LIMIT_ANONYMOUS: '1/60' });
    const ip = freshIp();
    for (let i = 0; i < 3; i += 1) {
      const res = await callWith(testEnv, '/api/v1/health', { ip });
      expect(res.status).not.toBe(429);
      expect(res.headers.get('RateLimit-Limit')).toBeNull();
    }
  });

  it('picks the tier from the spec, defaulting to standard when signed in, anonymous otherwise', async () => {
    const testEnv = envWith({ RATE_LIMIT_ANONYMOUS: '7/60', RATE_LIMIT_STANDARD: '8/60', RATE_LIMIT_EXPENSIVE: '2/60' });
    const spec = (rateLimitTier?: RouteSpec['rateLimit']): RouteSpec => ({ method: 'get', path: '/probe', summary: 'probe', tags: [], access: { kind: 'public' }, rateLimit: rateLimitTier, responses: {} });
    const userId = `user-${crypto.randomUUID()}`;
    const mini = factory
      .createApp()
      .use('/signed/*', async (c, next) => {
        // Stands in for the guard's authentication: only the public user id matters here.
        c.set('auth', { userId } as AuthContext);
        await next();
      })
      .get('/open', rateLimit(spec()), (c) => c.text('ok'))
      .get('/signed/default', rateLimit(spec()), (c) => c.text('ok'))
      .get('/signed/expensive', rateLimit(spec('expensive')), (c) => c.text('ok'));
    const get = (path: string) => mini.request(path, { headers: { 'CF-Connecting-IP': '192.0.2.77' } }, testEnv);
    expect((await get('/open')).headers.get('RateLimit-Limit')).toBe('7');
    expect((await get('/signed/default')).headers.get('RateLimit-Limit')).toBe('8');
    expect((await get('/signed/expensive')).headers.get('RateLimit-Limit')).toBe('2');
    expect((await get('/signed/expensive')).status).toBe(200);
    expect((await get('/signed/expensive')).status).toBe(429);
    // The expensive budget is its own: the standard one is untouched.
    expect((await get('/signed/default')).headers.get('RateLimit-Remaining')).toBe('6');
  });
});
