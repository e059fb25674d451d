import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from '../../helpers/api';
import { callWithEnv } from '../../helpers/tokens';
import { errorCode } from '../../helpers/users';

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

function parse(header: string | null): Record<string, string> {
  return Object.fromEntries((header ?? '').split(',').filter(Boolean).map((p) => p.split(':') as [string, string]));
}

/** A D1 binding that records how it is used: sessions opened (with their constraint) and direct statements. */
function recording(db: D1Database) {
  const seen = { sessions: [] as string[], direct: 0 };
  const proxy = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'withSession') seen.sessions.push(String(args[0]));
        if (prop === 'prepare' || prop === 'batch') seen.direct += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, seen };
}

describe('D1 read replication (Sessions API, X-D1-Bookmark)', () => {
  it('answers every /api response that read a database with the bookmark of each database it used', async () => {
    const u = await registerUser();
    // GET /users/:id reads both databases (GET /users/me is answered by the UserState object).
    const res = await call(`/api/v1/users/${u.user.id}`, { token: u.accessToken });
    expect(res.status).toBe(200);
    const marks = parse(res.headers.get('X-D1-Bookmark'));
    expect(marks.app).toMatch(BOOKMARK);
    // Writes too: registration wrote both databases on the primary.
    const reg = parse((await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: '198.18.0.7' })).headers.get('X-D1-Bookmark'));
    expect(reg.auth).toMatch(BOOKMARK);
  });

  it('reads at the bookmark it is sent (read-your-writes), and never returns an older one', async () => {
    const u = await registerUser({ fullName: 'Old' });
    const write = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'New' } });
    expect(write.status).toBe(200);
    const sent = write.headers.get('X-D1-Bookmark')!;
    const written = parse(sent);
    expect(written.app).toMatch(BOOKMARK);

    const app = recording(env.APP_DB);
    const auth = recording(env.AUTH_DB);
    const read = await callWithEnv({ APP_DB: app.proxy, AUTH_DB: auth.proxy }, `/api/v1/users/${u.user.id}`, { token: u.accessToken, headers: { 'X-D1-Bookmark': sent } });
    expect(read.status).toBe(200);
    expect((await json(read)).fullName).toBe('New');
    expect(app.seen.sessions).toEqual([written.app]);
    const after = parse(read.headers.get('X-D1-Bookmark'));
    expect(after.app! >= written.app!).toBe(true);
    // A database the request did not touch keeps the client's bookmark.
    if (written.auth) expect(after.auth! >= written.auth).toBe(true);
  });

  it('opens read-only requests unconstrained (nearest replica) and writes on the primary', async () => {
    const u = await registerUser();
    const app = recording(env.APP_DB);
    await callWithEnv({ APP_DB: app.proxy }, `/api/v1/users/${u.user.id}`, { token: u.accessToken });
    expect(app.seen.sessions).toEqual(['first-unconstrained']);
    const write = recording(env.APP_DB);
    expect((await callWithEnv({ APP_DB: write.proxy }, `/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'P' } })).status).toBe(200);
    expect(write.seen.sessions).toEqual(['first-primary']);
  });

  it('checks the session outside any D1 session of the request (UserState reads the primary): revocation is immediate', async () => {
    const u = await registerUser();
    const auth = recording(env.AUTH_DB);
    const ok = await callWithEnv({ AUTH_DB: auth.proxy }, '/api/v1/users/me', { token: u.accessToken });
    expect(ok.status).toBe(200);
    // The Worker itself sent nothing to AUTH_DB: the user's UserState object answered.
    expect(auth.seen.direct).toBe(0);
    expect(auth.seen.sessions).toEqual([]);
    const bookmark = (await call(`/api/v1/users/${u.user.id}`, { token: u.accessToken })).headers.get('X-D1-Bookmark')!;
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: u.accessToken })).status).toBe(204);
    const after = await call('/api/v1/users/me', { token: u.accessToken, headers: { 'X-D1-Bookmark': bookmark } });
    expect(after.status).toBe(401);
  });

  it.each(['garbage', 'app:garbage', 'app:00000000-00000009-00000000-00000000000000000000000000000000,app:00000000-00000009-00000000-00000000000000000000000000000000', 'logs:00000000-00000009-00000000-00000000000000000000000000000000', 'app:00000000-00000009-00000000-00000000000000000000000000000000:x'])(
    'refuses a malformed bookmark %s with 400 in the error envelope, CORS headers included',
    async (value) => {
      const u = await registerUser();
      const res = await call('/api/v1/users/me', { token: u.accessToken, headers: { 'X-D1-Bookmark': value, Origin: 'http://localhost:3000' } });
      expect(res.status).toBe(400);
      expect(await errorCode(res.clone())).toBe('VALIDATION_ERROR');
      expect((await json<{ error: { details: { field: string }[] } }>(res)).error.details[0]!.field).toBe('X-D1-Bookmark');
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000');
    },
  );

  it('lets browsers send and read the header (CORS)', async () => {
    const pre = await call('/api/v1/users/me', { method: 'OPTIONS', headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-d1-bookmark, if-none-match, if-match' } });
    expect(pre.headers.get('Access-Control-Allow-Headers')).toMatch(/X-D1-Bookmark/);
    expect(pre.headers.get('Access-Control-Allow-Headers')).toMatch(/If-None-Match/);
    expect(pre.headers.get('Access-Control-Allow-Headers')).toMatch(/If-Match/);
    const u = await registerUser();
    const res = await call('/api/v1/users/me', { token: u.accessToken, headers: { Origin: 'http://localhost:3000' } });
    expect(res.headers.get('Access-Control-Expose-Headers')).toMatch(/X-D1-Bookmark/);
    expect(res.headers.get('Access-Control-Expose-Headers')).toMatch(/ETag/);
  });
});
