import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser, type TokenPair } from '../../helpers/api';
import { decodeToken } from '../../helpers/tokens';

interface SessionList {
  data: { id: string; current: boolean; createdAt: string; lastUsedAt: string; expiresAt: string; userAgent: string | null }[];
}

const sid = (pair: { accessToken: string }) => decodeToken(pair.accessToken).payload.sid as string;
const list = (token: string) => call('/api/v1/auth/sessions', { token });
const revoke = (token: string, id: string) => call(`/api/v1/auth/sessions/${id}`, { method: 'DELETE', token });

async function loginFrom(email: string, password: string, userAgent: string): Promise<TokenPair> {
  const res = await call('/api/v1/auth/login', { body: { email, password }, ip: freshIp(), headers: { 'User-Agent': userAgent } });
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

describe('GET /auth/sessions', () => {
  it("lists the caller's active sessions, newest first, marking the current one", async () => {
    const user = await registerUser();
    const phone = await loginFrom(user.email, user.password, 'Phone/1.0');
    const laptop = await loginFrom(user.email, user.password, 'Laptop/2.0');
    const res = await list(phone.accessToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const { data } = await json<SessionList>(res);
    expect(data.map((s) => s.id)).toEqual([sid(laptop), sid(phone), sid(user)]);
    expect(data.map((s) => s.current)).toEqual([false, true, false]);
    expect(data[0]).toMatchObject({ userAgent: 'Laptop/2.0' });
    for (const s of data) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'lastUsedAt', 'userAgent']);
      expect(Date.parse(s.expiresAt)).toBeGreaterThan(Date.now());
    }
  });

  it('leaves out revoked and expired sessions and never shows another user', async () => {
    const user = await registerUser();
    const stranger = await registerUser();
    const second = await loginFrom(user.email, user.password, 'Second/1');
    const third = await loginFrom(user.email, user.password, 'Third/1');
    await env.AUTH_DB.prepare('UPDATE sessions SET expires_at = ? WHERE public_id = ?').bind(Date.now() - 1, sid(second)).run();
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: third.accessToken })).status).toBe(204);
    const { data } = await json<SessionList>(await list(user.accessToken));
    expect(data.map((s) => s.id)).toEqual([sid(user)]);
    expect(data.map((s) => s.id)).not.toContain(sid(stranger));
  });

  it('requires a signed-in caller', async () => {
    expect((await call('/api/v1/auth/sessions')).status).toBe(401);
  });
});

describe('DELETE /auth/sessions/:id', () => {
  it('revokes another session of the caller: its access and refresh tokens stop at once', async () => {
    const user = await registerUser();
    const other = await loginFrom(user.email, user.password, 'Other/1');
    const res = await revoke(user.accessToken, sid(other));
    expect(res.status).toBe(204);
    expect((await call('/api/v1/users/me', { token: other.accessToken })).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken }, ip: freshIp() })).status).toBe(401);
    expect((await call('/api/v1/users/me', { token: user.accessToken })).status).toBe(200);
  });

  it('can revoke the current session too', async () => {
    const user = await registerUser();
    expect((await revoke(user.accessToken, sid(user))).status).toBe(204);
    expect((await call('/api/v1/users/me', { token: user.accessToken })).status).toBe(401);
  });

  it("answers 404 for another user's session and leaves it alive", async () => {
    const user = await registerUser();
    const victim = await registerUser();
    const res = await revoke(user.accessToken, sid(victim));
    expect(res.status).toBe(404);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('NOT_FOUND');
    expect((await call('/api/v1/users/me', { token: victim.accessToken })).status).toBe(200);
  });

  it('answers 404 for an unknown or already revoked session', async () => {
    const user = await registerUser();
    const other = await loginFrom(user.email, user.password, 'Other/1');
    expect((await revoke(user.accessToken, sid(other))).status).toBe(204);
    expect((await revoke(user.accessToken, sid(other))).status).toBe(404);
    expect((await revoke(user.accessToken, '01900000-0000-7000-8000-000000000000')).status).toBe(404);
  });

  it('answers 400 for an id that is not a UUID (including SQL)', async () => {
    const user = await registerUser();
    for (const id of ['42', 'abc', encodeURIComponent("' OR 1=1 --")]) {
      const res = await revoke(user.accessToken, id);
      expect(res.status, id).toBe(400);
      expect((await json<{ error: { code: string; details: { field: string }[] } }>(res)).error.details[0]!.field).toBe('id');
    }
  });

  it('requires a signed-in caller', async () => {
    expect((await call('/api/v1/auth/sessions/01900000-0000-7000-8000-000000000000', { method: 'DELETE' })).status).toBe(401);
  });
});
