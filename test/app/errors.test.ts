import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, call, freshIp, json, registerUser } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';

interface Envelope {
  error: { code: string; message: string; details?: { field: string; message: string }[]; requestId: string };
}

/** The contract's envelope and nothing else: no stack, SQL, path or extra member anywhere. */
async function expectEnvelope(res: Response, status: number, code: string): Promise<Envelope> {
  expect(res.status).toBe(status);
  expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
  const text = await res.text();
  const body = JSON.parse(text) as Envelope;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details', 'requestId'].includes(k))).toEqual([]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.requestId).toBe(res.headers.get('X-Request-Id'));
  if (body.error.details) {
    expect(body.error.details.length).toBeGreaterThan(0);
    for (const d of body.error.details) expect(Object.keys(d).sort()).toEqual(['field', 'message']);
  }
  expect(text).not.toMatch(/\bat [\w.]+ \(|\.ts:\d+|node_modules|SQLITE|SELECT |stack|D1_ERROR/i);
  return body;
}

describe('404 envelope', () => {
  it.each(['/api/v1/nope', '/api/v1/users/me/extra', '/api/v2/users/me', '/', '/.well-known/webfinger', '/api/v1/roles/x/y'])(
    'answers GET %s with a 404 envelope',
    async (path) => {
      const body = await expectEnvelope(await exports.default.fetch(`${BASE}${path}`), 404, 'NOT_FOUND');
      expect(body.error.message).toBe('Not found');
    },
  );

  it('answers an unknown method on an unknown path with 404, never 405', async () => {
    const res = await call('/api/v1/nope', { method: 'DELETE' });
    await expectEnvelope(res, 404, 'NOT_FOUND');
    expect(res.headers.get('Allow')).toBeNull();
  });

  it('does not reflect the requested path (no injection into the body)', async () => {
    const res = await exports.default.fetch(`${BASE}/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(text).not.toContain('script');
  });
});

describe('405 on a known path', () => {
  it('answers another method with METHOD_NOT_ALLOWED and the Allow header of that path', async () => {
    for (const method of ['DELETE', 'GET', 'PUT']) {
      const res = await call('/api/v1/auth/login', { method, body: method === 'PUT' ? {} : undefined });
      await expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.get('Allow'), method).toBe('POST, OPTIONS');
    }
    const roles = await call('/api/v1/roles', { method: 'PATCH', body: {} });
    await expectEnvelope(roles, 405, 'METHOD_NOT_ALLOWED');
    expect(roles.headers.get('Allow')).toBe('GET, HEAD, POST, OPTIONS');
  });

  it('matches path parameters and a trailing slash like the router does', async () => {
    const role = await call(`/api/v1/roles/${crypto.randomUUID()}`, { method: 'PATCH', body: {} });
    await expectEnvelope(role, 405, 'METHOD_NOT_ALLOWED');
    expect(role.headers.get('Allow')).toBe('GET, HEAD, PUT, DELETE, OPTIONS');
    // /users/me is also /users/:id to the router: the union of both.
    expect((await call('/api/v1/users/me', { method: 'POST', body: {} })).headers.get('Allow')).toBe('GET, HEAD, PUT, PATCH, DELETE, OPTIONS');
    const slash = await call('/api/v1/auth/register/', { method: 'GET' });
    expect(slash.status).toBe(405);
    expect(slash.headers.get('Allow')).toBe('POST, OPTIONS');
  });

  it('applies to routes outside /api/v1 and answers OPTIONS there with 204 and Allow', async () => {
    const jwks = await exports.default.fetch(`${BASE}/.well-known/jwks.json`, { method: 'POST' });
    await expectEnvelope(jwks, 405, 'METHOD_NOT_ALLOWED');
    expect(jwks.headers.get('Allow')).toBe('GET, HEAD, OPTIONS');
    const options = await exports.default.fetch(`${BASE}/.well-known/jwks.json`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('Allow')).toBe('GET, HEAD, OPTIONS');
  });
});

describe('500 envelope', () => {
  it('answers an unexpected failure with a generic 500 and no internals', async () => {
    // A broken signing-key secret makes key import throw deep inside the handler.
    const res = await callWithEnv({ JWT_SIGNING_KEYS: '{not json' }, '/.well-known/jwks.json');
    const body = await expectEnvelope(res, 500, 'INTERNAL_ERROR');
    expect(body.error.message).toBe('Internal server error');
    expect(JSON.stringify(body)).not.toMatch(/JWT_SIGNING_KEYS|JSON|jwt\.ts/);
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('answers a 500 on an auth route the same way, with no-store', async () => {
    const user = await registerUser();
    const res = await callWithEnv({ JWT_SIGNING_KEYS: '[]' }, '/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() });
    await expectEnvelope(res, 500, 'INTERNAL_ERROR');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('the envelope on every error status', () => {
  it('400 VALIDATION_ERROR with every field', async () => {
    const body = await expectEnvelope(await call('/api/v1/auth/register', { body: { email: 1 }, ip: freshIp() }), 400, 'VALIDATION_ERROR');
    expect(body.error.message).toBe('Invalid input');
    expect(body.error.details!.map((d) => d.field)).toEqual(expect.arrayContaining(['email', 'password']));
  });

  it('401 UNAUTHENTICATED and INVALID_TOKEN', async () => {
    await expectEnvelope(await call('/api/v1/users/me'), 401, 'UNAUTHENTICATED');
    await expectEnvelope(await call('/api/v1/users/me', { token: 'a.b.c' }), 401, 'INVALID_TOKEN');
  });

  it('401 INVALID_CREDENTIALS and INVALID_REFRESH_TOKEN', async () => {
    await expectEnvelope(await call('/api/v1/auth/login', { body: { email: 'x@example.com', password: 'whatever123' }, ip: freshIp() }), 401, 'INVALID_CREDENTIALS');
    await expectEnvelope(await call('/api/v1/auth/refresh', { body: { refreshToken: 'nope' }, ip: freshIp() }), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('409 EMAIL_TAKEN', async () => {
    const user = await registerUser();
    await expectEnvelope(await call('/api/v1/auth/register', { body: { email: user.email, password: 'some other secret' }, ip: freshIp() }), 409, 'EMAIL_TAKEN');
  });

  it('413 PAYLOAD_TOO_LARGE and 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectEnvelope(await call('/api/v1/auth/login', { rawBody: 'x'.repeat(70_000), headers: { 'Content-Type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
    await expectEnvelope(await call('/api/v1/auth/login', { rawBody: 'email=a', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('echoes a well-formed client request id in the envelope', async () => {
    const res = await call('/api/v1/users/me', { headers: { 'X-Request-Id': 'client-trace-0000001' } });
    expect((await json<Envelope>(res)).error.requestId).toBe('client-trace-0000001');
  });
});

describe('paths', () => {
  it('treats a trailing slash like its absence', async () => {
    expect((await call('/api/v1/health/')).status).toBe(200);
    expect((await call('/api/v1/users/me/')).status).toBe(401);
  });
});
