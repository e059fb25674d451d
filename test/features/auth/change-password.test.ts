import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser, type TokenPair } from '../../helpers/api';

interface ErrorBody {
  error: { code: string; details?: { field: string; message: string }[] };
}

const change = (token: string, body: unknown) => call('/api/v1/auth/password', { body, token, ip: freshIp() });
const login = (email: string, password: string) => call('/api/v1/auth/login', { body: { email, password }, ip: freshIp() });
const me = (token: string) => call('/api/v1/users/me', { token });

describe('POST /auth/password', () => {
  it('changes the password and revokes every other session, keeping the current one', async () => {
    const user = await registerUser();
    const other = await json<TokenPair>(await login(user.email, user.password));
    const res = await change(user.accessToken, { currentPassword: user.password, newPassword: 'a brand new passphrase' });
    expect(res.status).toBe(204);

    expect((await me(user.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken }, ip: freshIp() })).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() })).status).toBe(200);

    expect((await login(user.email, user.password)).status).toBe(401);
    expect((await login(user.email, 'a brand new passphrase')).status).toBe(200);
    const row = await env.AUTH_DB.prepare('SELECT password_changed_at, password_hash FROM users WHERE public_id = ?')
      .bind(user.user.id)
      .first<{ password_changed_at: number | null; password_hash: string }>();
    expect(row?.password_changed_at).toBeGreaterThan(Date.now() - 60_000);
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('refuses a wrong current password and changes nothing', async () => {
    const user = await registerUser();
    const other = await json<TokenPair>(await login(user.email, user.password));
    const res = await change(user.accessToken, { currentPassword: 'not my password', newPassword: 'a brand new passphrase' });
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.details).toEqual([{ field: 'currentPassword', message: 'Current password is incorrect' }]);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('applies the new-password rules: length, common list, not the email', async () => {
    const user = await registerUser();
    const cases: [string, string][] = [
      ['short', 'newPassword'],
      ['x'.repeat(129), 'newPassword'],
      ['password123', 'newPassword'],
      [user.email, 'newPassword'],
    ];
    for (const [newPassword, field] of cases) {
      const res = await change(user.accessToken, { currentPassword: user.password, newPassword });
      expect(res.status, newPassword).toBe(400);
      expect((await json<ErrorBody>(res)).error.details!.map((d) => d.field)).toContain(field);
    }
    expect((await me(user.accessToken)).status).toBe(200);
  });

  it('reports every field error at once', async () => {
    const user = await registerUser();
    const res = await change(user.accessToken, { currentPassword: '', newPassword: 'short', extra: 1 });
    expect(res.status).toBe(400);
    expect(new Set((await json<ErrorBody>(res)).error.details!.map((d) => d.field))).toEqual(new Set(['currentPassword', 'newPassword', 'extra']));
  });

  it('requires a signed-in caller', async () => {
    const res = await call('/api/v1/auth/password', { body: { currentPassword: 'whatever1', newPassword: 'whatever new 2' }, ip: freshIp() });
    expect(res.status).toBe(401);
  });

  it('answers a too-short current password with 400, not a 500', async () => {
    const user = await registerUser();
    const res = await change(user.accessToken, { currentPassword: 'abc', newPassword: 'a brand new passphrase' });
    expect(res.status).toBe(400);
  });
});
