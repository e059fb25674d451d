import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../helpers/api';

type Details = { error: { code: string; details: { field: string; message: string }[] } };

describe('validation messages say what is wrong', () => {
  it('tells a missing field from a field of the wrong type', async () => {
    const missing = await json<Details>(await call('/api/v1/auth/login', { body: {}, ip: freshIp() }));
    expect(missing.error.details).toEqual(expect.arrayContaining([{ field: 'email', message: 'Email is required' }, { field: 'password', message: 'Password is required' }]));
    const wrong = await json<Details>(await call('/api/v1/auth/login', { body: { email: 123, password: ['x'] }, ip: freshIp() }));
    expect(wrong.error.details).toEqual(expect.arrayContaining([{ field: 'email', message: 'Email must be a string' }, { field: 'password', message: 'Password must be a string' }]));
  });

  it('says an over-long refresh token is not a refresh token', async () => {
    const res = await json<Details>(await call('/api/v1/auth/refresh', { body: { refreshToken: 'x'.repeat(300) }, ip: freshIp() }));
    expect(res.error.details).toEqual([{ field: 'refreshToken', message: 'Not a refresh token' }]);
  });

  it('names each unknown or read-only field', async () => {
    const u = await registerUser();
    const res = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'A', roles: ['admin'], email: 'x@example.com' } });
    expect(res.status).toBe(400);
    const body = await json<Details>(res);
    expect(body.error.details.map((d) => d.field).sort()).toEqual(['email', 'roles']);
    expect(body.error.details[0]!.message).toMatch(/cannot be set/);
  });
});
