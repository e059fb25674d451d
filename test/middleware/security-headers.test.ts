import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EDGE_CACHE_CONTROL } from '../../src/lib/edge-cache';
import { BASE, call, freshIp, registerUser } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';

function expectSecurityHeaders(res: Response, where: string) {
  const h = res.headers;
  expect(h.get('Strict-Transport-Security'), where).toMatch(/^max-age=\d{8,}; includeSubDomains/);
  expect(h.get('X-Content-Type-Options'), where).toBe('nosniff');
  expect(h.get('X-Frame-Options'), where).toBe('DENY');
  expect(h.get('Referrer-Policy'), where).toBe('no-referrer');
  expect(h.get('Content-Security-Policy'), where).toContain("frame-ancestors 'none'");
  expect(h.get('Cross-Origin-Opener-Policy'), where).toBe('same-origin');
  expect(h.get('X-Powered-By'), where).toBeNull();
  expect(h.get('Server') ?? '', where).not.toMatch(/hono|node|express/i);
}

describe('security headers', () => {
  it('are on success, client-error, not-found and server-error responses', async () => {
    const user = await registerUser();
    expectSecurityHeaders(await call('/api/v1/users/me', { token: user.accessToken }), '200');
    expectSecurityHeaders(await call('/api/v1/auth/login', { body: { email: 'x' }, ip: freshIp() }), '400');
    expectSecurityHeaders(await call('/api/v1/users/me'), '401');
    expectSecurityHeaders(await call('/api/v1/auth/login', { rawBody: 'x'.repeat(70_000), headers: { 'Content-Type': 'application/json' } }), '413');
    expectSecurityHeaders(await exports.default.fetch(`${BASE}/nowhere`), '404');
    expectSecurityHeaders(await callWithEnv({ JWT_SIGNING_KEYS: 'broken' }, '/.well-known/jwks.json'), '500');
    expectSecurityHeaders(await exports.default.fetch(`${BASE}/.well-known/jwks.json`), 'jwks');
    expectSecurityHeaders(await call('/api/v1/auth/logout', { method: 'POST', token: user.accessToken }), '204');
  });

  it("give API responses a CSP that allows nothing", async () => {
    const res = await call('/api/v1/health');
    expect(res.headers.get('Content-Security-Policy')).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  });

  it('let the docs page keep its own, wider CSP', async () => {
    const res = await exports.default.fetch(`${BASE}/docs`);
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).not.toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    expect(csp).toContain('script-src');
    expectSecurityHeaders(res, 'docs');
  });
});

describe('Cache-Control', () => {
  it('is no-store on every auth and user response, success or error', async () => {
    const user = await registerUser();
    const responses: [string, Response][] = [
      ['me 200', await call('/api/v1/users/me', { token: user.accessToken })],
      ['me 401', await call('/api/v1/users/me')],
      ['login 200', await call('/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() })],
      ['login 401', await call('/api/v1/auth/login', { body: { email: user.email, password: 'wrong password' }, ip: freshIp() })],
      ['refresh 200', await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() })],
      ['refresh 401', await call('/api/v1/auth/refresh', { body: { refreshToken: 'nope' }, ip: freshIp() })],
      ['sessions 200', await call('/api/v1/auth/sessions', { token: user.accessToken })],
      ['register 409', await call('/api/v1/auth/register', { body: { email: user.email, password: 'whatever long' }, ip: freshIp() })],
      ['not found', await call('/api/v1/users/nope/more')],
    ];
    for (const [name, res] of responses) expect(res.headers.get('Cache-Control'), name).toBe('no-store');
  });

  it('lets public documents be cached', async () => {
    expect((await exports.default.fetch(`${BASE}/.well-known/jwks.json`)).headers.get('Cache-Control')).toBe(EDGE_CACHE_CONTROL.versioned);
    expect((await exports.default.fetch(`${BASE}/api/v1/openapi.json`)).headers.get('Cache-Control')).toBe(EDGE_CACHE_CONTROL.versioned);
  });
});
