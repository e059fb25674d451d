import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser, type TokenPair } from '../../helpers/api';
import { decodeToken } from '../../helpers/tokens';

const logout = (token?: string, headers: Record<string, string> = {}) => call('/api/v1/auth/logout', { method: 'POST', token, headers });
const me = (token: string) => call('/api/v1/users/me', { token });

describe('POST /auth/logout', () => {
  it('answers 204 with no body', async () => {
    const user = await registerUser();
    const res = await logout(user.accessToken);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('stops the access token at once (no propagation delay) and the refresh token', async () => {
    const user = await registerUser();
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await logout(user.accessToken)).status).toBe(204);
    const after = await me(user.accessToken);
    expect(after.status).toBe(401);
    expect((await json<{ error: { code: string } }>(after)).error.code).toBe('INVALID_TOKEN');
    const refresh = await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() });
    expect(refresh.status).toBe(401);
    const row = await env.AUTH_DB.prepare('SELECT revoked_at, revoked_reason FROM sessions WHERE public_id = ?')
      .bind(decodeToken(user.accessToken).payload.sid)
      .first<{ revoked_at: number | null; revoked_reason: string }>();
    expect(row?.revoked_at).not.toBeNull();
    expect(row?.revoked_reason).toBe('logout');
  });

  it('ends only the current session: the same user elsewhere stays signed in', async () => {
    const user = await registerUser();
    const other = await json<TokenPair>(await call('/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() }));
    expect((await logout(user.accessToken)).status).toBe(204);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken }, ip: freshIp() })).status).toBe(200);
  });

  it('refuses a second logout with the same token', async () => {
    const user = await registerUser();
    expect((await logout(user.accessToken)).status).toBe(204);
    expect((await logout(user.accessToken)).status).toBe(401);
  });

  it('requires a token', async () => {
    const res = await logout();
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('UNAUTHENTICATED');
  });

  it('cannot end a session with its refresh token in place of the access token', async () => {
    const user = await registerUser();
    expect((await logout(user.refreshToken)).status).toBe(401);
    expect((await me(user.accessToken)).status).toBe(200);
  });
});
