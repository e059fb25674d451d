import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getConfig } from '../../../src/lib/config';
import { call, freshIp, json, registerUser, type TokenPair } from '../../helpers/api';
import { decodeToken } from '../../helpers/tokens';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[]; requestId: string };
}

const refresh = (refreshToken: unknown) => call('/api/v1/auth/refresh', { body: { refreshToken }, ip: freshIp() });
const me = (token: string) => call('/api/v1/users/me', { token });
const sid = (pair: { accessToken: string }) => decodeToken(pair.accessToken).payload.sid as string;

async function session(publicId: string) {
  return env.AUTH_DB.prepare('SELECT id, generation, revoked_at, revoked_reason, last_used_at, expires_at FROM sessions WHERE public_id = ?')
    .bind(publicId)
    .first<{ id: number; generation: number; revoked_at: number | null; revoked_reason: string | null; last_used_at: number; expires_at: number }>();
}

async function rotate(token: string): Promise<TokenPair> {
  const res = await refresh(token);
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

async function expectRefused(res: Response) {
  expect(res.status).toBe(401);
  const body = await json<ErrorBody>(res);
  expect(body.error.code).toBe('INVALID_REFRESH_TOKEN');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
}

describe('POST /auth/refresh', () => {
  it('rotates: a new pair for the same session, the old refresh token spent', async () => {
    const user = await registerUser();
    const next = await rotate(user.refreshToken);
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect(next.accessToken).not.toBe(user.accessToken);
    expect(sid(next)).toBe(sid(user));
    expect(next.refreshToken.split('.')[0]).toBe(sid(user));
    expect(next).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: user.user.id, email: user.email } });
    expect((await me(next.accessToken)).status).toBe(200);
    expect((await session(sid(user)))?.generation).toBe(1);
    const again = await rotate(next.refreshToken);
    expect((await session(sid(user)))?.generation).toBe(2);
    expect((await me(again.accessToken)).status).toBe(200);
  });

  it('revokes the whole family when a spent token is presented again', async () => {
    const user = await registerUser();
    const second = await rotate(user.refreshToken);
    const third = await rotate(second.refreshToken);

    await expectRefused(await refresh(user.refreshToken)); // the spent one: reuse
    const row = await session(sid(user));
    expect(row?.revoked_at).not.toBeNull();
    expect(row?.revoked_reason).toBe('refresh_reuse');

    // Every token of the family is dead, the newest included.
    await expectRefused(await refresh(third.refreshToken));
    for (const pair of [user, second, third]) expect((await me(pair.accessToken)).status).toBe(401);
  });

  it('keeps other sessions of the same user alive when one family is revoked', async () => {
    const user = await registerUser();
    const other = await json<TokenPair>(await call('/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() }));
    await rotate(user.refreshToken);
    await expectRefused(await refresh(user.refreshToken));
    expect((await me(other.accessToken)).status).toBe(200);
    await rotate(other.refreshToken);
  });

  it('lets exactly one of two concurrent refreshes of one token win', async () => {
    const user = await registerUser();
    const results = await Promise.all([refresh(user.refreshToken), refresh(user.refreshToken)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    // The loser presented a token that was spent by then, which is a reuse: the family ends.
    // A client must serialise its refreshes; two parallel ones are indistinguishable from theft.
    const winner = await json<TokenPair>(results.find((r) => r.status === 200)!);
    await expectRefused(await refresh(winner.refreshToken));
    expect((await session(sid(user)))?.revoked_reason).toBe('refresh_reuse');
  });

  it('lets exactly one of five concurrent refreshes win', async () => {
    const user = await registerUser();
    const results = await Promise.all(Array.from({ length: 5 }, () => refresh(user.refreshToken)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(4);
    expect((await session(sid(user)))?.generation).toBe(1);
  });

  it.each([
    ['random text', 'not-a-token'],
    ['a session id alone', '01900000-0000-7000-8000-000000000000'],
    ['a short secret', '01900000-0000-7000-8000-000000000000.abc'],
    ['an access token', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['an unknown session', `01900000-0000-7000-8000-000000000000.${'A'.repeat(43)}`],
    ['SQL', `' OR 1=1 --.${'A'.repeat(43)}`],
  ])('refuses %s with 401', async (_name, token) => {
    await expectRefused(await refresh(token));
  });

  it('does not revoke a family for a guessed secret (the session id is public in the access token)', async () => {
    const user = await registerUser();
    await expectRefused(await refresh(`${sid(user)}.${'A'.repeat(43)}`));
    await expectRefused(await refresh(`${sid(user)}.${user.refreshToken.split('.')[1]!.slice(0, -1)}B`));
    expect((await session(sid(user)))?.revoked_at).toBeNull();
    await rotate(user.refreshToken);
  });

  it.each([
    ['missing', {}],
    ['empty', { refreshToken: '' }],
    ['not a string', { refreshToken: 12345 }],
    ['too long', { refreshToken: 'x'.repeat(257) }],
    ['with extra keys', { refreshToken: 'x', userId: 1 }],
  ])('answers 400 for a body with the token %s', async (_name, body) => {
    const res = await call('/api/v1/auth/refresh', { body, ip: freshIp() });
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses a session idle for longer than the idle lifetime', async () => {
    const user = await registerUser();
    const idle = getConfig(env).sessionIdleTtlMs;
    await env.AUTH_DB.prepare('UPDATE sessions SET last_used_at = ? WHERE public_id = ?').bind(Date.now() - idle - 60_000, sid(user)).run();
    await expectRefused(await refresh(user.refreshToken));
    // Just inside the idle window it still works, and the use moves the window.
    const other = await registerUser();
    await env.AUTH_DB.prepare('UPDATE sessions SET last_used_at = ? WHERE public_id = ?').bind(Date.now() - idle + 60_000, sid(other)).run();
    await rotate(other.refreshToken);
    expect((await session(sid(other)))!.last_used_at).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses a session past its absolute lifetime, however recently used', async () => {
    const user = await registerUser();
    await env.AUTH_DB.prepare('UPDATE sessions SET expires_at = ?, last_used_at = ? WHERE public_id = ?').bind(Date.now() - 1, Date.now(), sid(user)).run();
    await expectRefused(await refresh(user.refreshToken));
    expect((await me(user.accessToken)).status).toBe(401);
  });

  it('never extends the absolute lifetime on rotation', async () => {
    const user = await registerUser();
    const before = (await session(sid(user)))!.expires_at;
    await rotate(user.refreshToken);
    expect((await session(sid(user)))!.expires_at).toBe(before);
  });

  it('refuses the refresh token of a deleted user', async () => {
    const user = await registerUser();
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ? WHERE public_id = ?').bind(Date.now(), user.user.id).run();
    await expectRefused(await refresh(user.refreshToken));
  });

  it('refuses the refresh token of a logged-out session', async () => {
    const user = await registerUser();
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: user.accessToken })).status).toBe(204);
    await expectRefused(await refresh(user.refreshToken));
  });
});
