import { describe, expect, it } from 'vitest';
import { call, registerUser } from '../helpers/api';

// wrangler.toml [vars] CORS_ORIGINS = "http://localhost:3000,http://127.0.0.1:3000"
const ALLOWED = 'http://localhost:3000';

const preflight = (origin: string, method = 'POST', headers = 'Content-Type, Authorization') =>
  call('/api/v1/auth/login', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } });

describe('CORS allowlist', () => {
  it('echoes an allowed origin on a simple request, with the headers a client may read', async () => {
    const user = await registerUser();
    const res = await call('/api/v1/users/me', { token: user.accessToken, headers: { Origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED);
    expect(res.headers.get('Vary')).toMatch(/Origin/i);
    expect(res.headers.get('Access-Control-Expose-Headers')).toMatch(/X-Request-Id/i);
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  });

  it('answers a preflight from an allowed origin', async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED);
    expect(res.headers.get('Access-Control-Allow-Methods')).toMatch(/POST/);
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toMatch(/authorization/);
    expect(res.headers.get('Access-Control-Max-Age')).toBe('600');
  });

  it.each([
    'https://evil.example',
    'http://localhost:3001',
    'http://localhost:3000.evil.example',
    'https://localhost:3000',
    'null',
    'HTTP://LOCALHOST:3000',
  ])('does not allow origin %s', async (origin) => {
    const simple = await call('/api/v1/health', { headers: { Origin: origin } });
    expect(simple.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const pre = await preflight(origin);
    expect(pre.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('never answers with a wildcard origin', async () => {
    const res = await call('/api/v1/health', { headers: { Origin: ALLOWED } });
    expect(res.headers.get('Access-Control-Allow-Origin')).not.toBe('*');
  });

  it('adds CORS headers to error responses for allowed origins too (so clients can read them)', async () => {
    const res = await call('/api/v1/users/me', { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(401);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED);
  });
});
