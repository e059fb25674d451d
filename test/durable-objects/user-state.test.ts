import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { decodeToken } from '../helpers/tokens';
import { registerAdmin, roleId } from '../helpers/users';
import type { UserState } from '../../src/durable-objects/user-state';

const me = (token: string) => call('/api/v1/users/me', { token });
const sid = (token: string) => decodeToken(token).payload.sid as string;
const login = async (email: string, password: string) => json<TokenPair>(await call('/api/v1/auth/login', { body: { email, password }, ip: freshIp() }));
const stub = (userId: string) => env.USER_STATE.get(env.USER_STATE.idFromName(userId));

/** Each test warms the cache first (a 200), so a stale cache would answer the next request. */
describe('UserState: every revocation path is seen by the very next request', () => {
  it('logout', async () => {
    const u = await registerUser();
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: u.accessToken })).status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(401);
  });

  it('revoking one of my sessions', async () => {
    const u = await registerUser();
    const other = await login(u.email, u.password);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await call(`/api/v1/auth/sessions/${sid(other.accessToken)}`, { method: 'DELETE', token: u.accessToken })).status).toBe(204);
    expect((await me(other.accessToken)).status).toBe(401);
    expect((await me(u.accessToken)).status).toBe(200);
  });

  it('password change ends the other sessions', async () => {
    const u = await registerUser();
    const other = await login(u.email, u.password);
    expect((await me(other.accessToken)).status).toBe(200);
    const res = await call('/api/v1/auth/password', { token: u.accessToken, ip: freshIp(), body: { currentPassword: u.password, newPassword: 'a brand new passphrase 9' } });
    expect(res.status).toBe(204);
    expect((await me(other.accessToken)).status).toBe(401);
  });

  it('admin soft delete', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(401);
  });

  it('role grant and revoke change the permissions at once', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const admins = await roleId('admin');
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(403);
    expect((await call(`/api/v1/users/${u.user.id}/roles/${admins}`, { method: 'PUT', token: admin.accessToken })).status).toBe(200);
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(200);
    expect((await call(`/api/v1/users/${u.user.id}/roles/${admins}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(403);
  });

  it("a role's permission edit reaches every holder at once", async () => {
    const admin = await registerAdmin();
    const role = await json<{ id: string }>(await call('/api/v1/roles', { token: admin.accessToken, body: { name: `r${crypto.randomUUID().slice(0, 8)}`, description: '', permissions: ['logs:read'] } }));
    const u = await registerUser();
    expect((await call(`/api/v1/users/${u.user.id}/roles/${role.id}`, { method: 'PUT', token: admin.accessToken })).status).toBe(200);
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(403);
    const put = await call(`/api/v1/roles/${role.id}`, { method: 'PUT', token: admin.accessToken, body: { name: `r${crypto.randomUUID().slice(0, 8)}`, description: '', permissions: ['logs:read', 'users:read'] } });
    expect(put.status).toBe(200);
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(200);
    expect((await call(`/api/v1/roles/${role.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/users', { token: u.accessToken })).status).toBe(403);
  });

  it('a profile edit shows on the next GET /users/me', async () => {
    const u = await registerUser({ fullName: 'Before' });
    expect((await json<{ fullName: string }>(await me(u.accessToken))).fullName).toBe('Before');
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'After' } })).status).toBe(200);
    expect((await json<{ fullName: string }>(await me(u.accessToken))).fullName).toBe('After');
  });
});

describe('UserState: holds and the load race', () => {
  it('caches nothing while a hold is open, and a hold survives eviction (it is in storage)', async () => {
    const u = await registerUser();
    const s = stub(u.user.id);
    await s.hold('test-token-1');
    await evictDurableObject(s);
    expect((await me(u.accessToken)).status).toBe(200);
    // A revocation written behind the object's back while held is seen: nothing was cached.
    await env.AUTH_DB.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'test' WHERE public_id = ?").bind(Date.now(), sid(u.accessToken)).run();
    expect((await me(u.accessToken)).status).toBe(401);
    const stored = await runInDurableObject(s, (_o: UserState, state) => state.storage.kv.get<Record<string, number>>('holds'));
    expect(Object.keys(stored ?? {})).toEqual(['test-token-1']);
    await s.release('test-token-1');
  });

  it('does not cache a load that a hold overtook (generation counter)', async () => {
    const u = await registerUser();
    const s = stub(u.user.id);
    // The load reads D1 (live), the hold arrives while it is in flight, the revocation commits.
    const pending = s.check({ userId: u.user.id, sessionId: sid(u.accessToken) });
    const held = s.hold('test-token-2');
    await Promise.all([pending, held]);
    await env.AUTH_DB.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'test' WHERE public_id = ?").bind(Date.now(), sid(u.accessToken)).run();
    await s.release('test-token-2');
    expect((await me(u.accessToken)).status).toBe(401);
  });

  it('refuses a session of another user (the object is named by the token subject)', async () => {
    const a = await registerUser();
    const b = await registerUser();
    expect(await stub(a.user.id).check({ userId: a.user.id, sessionId: sid(b.accessToken) })).toBeNull();
  });

  it('counts the standard tier in the same call: exact at the boundary', async () => {
    const u = await registerUser();
    const s = stub(u.user.id);
    const rule = { limit: 3, windowMs: 60_000 };
    const answers = await Promise.all(Array.from({ length: 6 }, () => s.check({ userId: u.user.id, sessionId: sid(u.accessToken), limit: rule })));
    expect(answers.filter((a) => a?.limit?.allowed).length).toBe(3);
  });
});
