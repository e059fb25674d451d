import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { decodeToken } from '../../helpers/tokens';

const ORIGIN = 'http://127.0.0.1:8787';
const COOKIE = '__Secure-ubr_console';
const consoleHeaders = (extra: Record<string, string> = {}) => ({ Origin: ORIGIN, 'X-Console-Request': '1', 'Sec-Fetch-Site': 'same-origin', ...extra });

/** The refresh token a Set-Cookie header carries, with its attributes. */
function cookieOf(res: Response): { value: string; attributes: string } {
  const header = res.headers.get('Set-Cookie') ?? '';
  const m = new RegExp(`^${COOKIE}=([^;]*);(.*)$`).exec(header);
  if (!m) throw new Error(`no console cookie in ${JSON.stringify(header)}`);
  return { value: m[1]!, attributes: m[2]! };
}

const handover = (refreshToken: string, headers: Record<string, string> = consoleHeaders()) => call('/api/v1/auth/console/session', { body: { refreshToken }, headers, ip: freshIp() });
const consoleRefresh = (cookie: string | null, headers: Record<string, string> = consoleHeaders()) =>
  call('/api/v1/auth/console/refresh', { method: 'POST', headers: { ...headers, ...(cookie === null ? {} : { Cookie: `${COOKIE}=${cookie}` }) }, ip: freshIp() });
const me = (token: string) => call('/api/v1/users/me', { token });
const sid = (pair: { accessToken: string }) => decodeToken(pair.accessToken).payload.sid as string;

async function revokedReason(sessionId: string) {
  return (await env.AUTH_DB.prepare('SELECT revoked_reason FROM sessions WHERE public_id = ?').bind(sessionId).first<{ revoked_reason: string | null }>())?.revoked_reason ?? null;
}

async function signedInConsole() {
  const user = await registerUser();
  const res = await handover(user.refreshToken);
  expect(res.status).toBe(200);
  return { user, cookie: cookieOf(res).value, body: await json<{ accessToken: string; refreshToken?: string }>(res) };
}

describe('admin console refresh cookie', () => {
  it('hands over: the JSON refresh token is spent, the child sits in an HttpOnly Secure SameSite=Strict cookie scoped to the console path', async () => {
    const user = await registerUser();
    const res = await handover(user.refreshToken);
    expect(res.status).toBe(200);
    const body = await json<Record<string, unknown>>(res);
    expect(body.refreshToken).toBeUndefined();
    expect(body.deviceToken).toBeUndefined();
    expect((await me(body.accessToken as string)).status).toBe(200);
    const { value, attributes } = cookieOf(res);
    expect(value.split('.')[0]).toBe(sid(user));
    expect(attributes).toMatch(/Path=\/api\/v1\/auth\/console(;|$)/);
    expect(attributes).toMatch(/HttpOnly/);
    expect(attributes).toMatch(/Secure/);
    expect(attributes).toMatch(/SameSite=Strict/);
    expect(attributes).toMatch(/Max-Age=\d+/);
    // The copy the page's script held is spent: presenting it again is reuse.
    const replay = await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() });
    expect(replay.status).toBe(401);
    expect(await revokedReason(sid(user))).toBe('refresh_reuse');
  });

  it('refreshes on reload: a new access token and a rotated cookie, same session', async () => {
    const { user, cookie } = await signedInConsole();
    const res = await consoleRefresh(cookie);
    expect(res.status).toBe(200);
    const body = await json<{ accessToken: string; refreshToken?: string }>(res);
    expect(body.refreshToken).toBeUndefined();
    expect(sid(body)).toBe(sid(user));
    expect((await me(body.accessToken)).status).toBe(200);
    const next = cookieOf(res).value;
    expect(next).not.toBe(cookie);
    expect((await consoleRefresh(next)).status).toBe(200);
  });

  it('refuses a request without the custom header (CSRF) and rotates nothing', async () => {
    const { cookie } = await signedInConsole();
    const res = await consoleRefresh(cookie, { Origin: ORIGIN });
    expect(res.status).toBe(403);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('FORBIDDEN');
    expect(res.headers.get('Set-Cookie')).toBeNull();
    // The cookie is still the live one.
    expect((await consoleRefresh(cookie)).status).toBe(200);
  });

  it('refuses a foreign or missing Origin, and a cross-site Sec-Fetch-Site', async () => {
    const { cookie } = await signedInConsole();
    for (const headers of [
      consoleHeaders({ Origin: 'https://evil.example' }),
      consoleHeaders({ Origin: 'http://127.0.0.1:8788' }),
      consoleHeaders({ Origin: 'null' }),
      { 'X-Console-Request': '1' },
      consoleHeaders({ 'Sec-Fetch-Site': 'cross-site' }),
    ]) {
      const res = await consoleRefresh(cookie, headers);
      expect(res.status).toBe(403);
    }
    const user = await registerUser();
    expect((await handover(user.refreshToken, consoleHeaders({ Origin: 'https://evil.example' }))).status).toBe(403);
    expect((await consoleRefresh(cookie)).status).toBe(200);
  });

  it('revokes the family when a spent cookie is replayed', async () => {
    const { user, cookie } = await signedInConsole();
    const first = await consoleRefresh(cookie);
    expect(first.status).toBe(200);
    const live = await json<{ accessToken: string }>(first);
    const replay = await consoleRefresh(cookie);
    expect(replay.status).toBe(401);
    expect((await json<{ error: { code: string } }>(replay)).error.code).toBe('INVALID_REFRESH_TOKEN');
    expect(replay.headers.get('Set-Cookie')).toMatch(/Max-Age=0/);
    expect(await revokedReason(sid(user))).toBe('refresh_reuse');
    expect((await me(live.accessToken)).status).toBe(401);
    expect((await consoleRefresh(cookieOf(first).value)).status).toBe(401);
  });

  it('answers 401 without a cookie or with a malformed one', async () => {
    expect((await consoleRefresh(null)).status).toBe(401);
    expect((await consoleRefresh('not-a-token')).status).toBe(401);
  });

  it('is not accepted on other paths: the JSON refresh and bearer-authenticated routes ignore the cookie', async () => {
    const { cookie } = await signedInConsole();
    const json400 = await call('/api/v1/auth/refresh', { method: 'POST', headers: { ...consoleHeaders(), Cookie: `${COOKIE}=${cookie}`, 'Content-Type': 'application/json' }, rawBody: '{}', ip: freshIp() });
    expect(json400.status).toBe(400);
    const meRes = await call('/api/v1/users/me', { headers: { ...consoleHeaders(), Cookie: `${COOKIE}=${cookie}` } });
    expect(meRes.status).toBe(401);
    // Nothing was rotated by those calls.
    expect((await consoleRefresh(cookie)).status).toBe(200);
  });

  it('signs out: the session of the cookie ends and the cookie is cleared', async () => {
    const { user, cookie, body } = await signedInConsole();
    const refusedRes = await call('/api/v1/auth/console/logout', { method: 'POST', headers: { Origin: 'https://evil.example', 'X-Console-Request': '1', Cookie: `${COOKIE}=${cookie}` } });
    expect(refusedRes.status).toBe(403);
    expect((await me(body.accessToken)).status).toBe(200);
    const res = await call('/api/v1/auth/console/logout', { method: 'POST', headers: { ...consoleHeaders(), Cookie: `${COOKIE}=${cookie}` } });
    expect(res.status).toBe(204);
    expect(res.headers.get('Set-Cookie')).toMatch(new RegExp(`^${COOKIE}=;.*Max-Age=0`));
    expect(await revokedReason(sid(user))).toBe('logout');
    expect((await me(body.accessToken)).status).toBe(401);
    expect((await consoleRefresh(cookie)).status).toBe(401);
  });

  it('keeps the JSON refresh contract: the pair still carries its refresh token and sets no cookie', async () => {
    const user = await registerUser();
    const res = await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() });
    expect(res.status).toBe(200);
    expect(typeof (await json<{ refreshToken: string }>(res)).refreshToken).toBe('string');
    expect(res.headers.get('Set-Cookie')).toBeNull();
  });
});
