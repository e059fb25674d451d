import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';

describe('POST /auth/register', () => {
  it('creates an account and returns a token pair', async () => {
    const res = await call('/api/v1/auth/register', { body: { email: '  New.User@Example.COM ', password: 'a-long-enough-secret', fullName: 'New User' }, ip: freshIp() });
    expect(res.status).toBe(201);
    const body = await json<Record<string, unknown>>(res);
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email: 'new.user@example.com', fullName: 'New User', roles: ['user'], emailVerified: false } });
    expect(typeof body.accessToken).toBe('string');
    expect(typeof body.refreshToken).toBe('string');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('X-Request-Id')).toBeTruthy();
  });

  it('refuses a taken email in any case or spacing with 409', async () => {
    const first = await registerUser();
    const res = await call('/api/v1/auth/register', { body: { email: ` ${first.email.toUpperCase()} `, password: 'another-long-secret' }, ip: freshIp() });
    expect(res.status).toBe(409);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('EMAIL_TAKEN');
  });
});
