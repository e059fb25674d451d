import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode, me, registerAdmin } from '../../helpers/users';

interface User {
  id: string;
  email: string;
  fullName: string | null;
  roles: string[];
  emailVerified: boolean;
  deletedAt?: string | null;
}

describe('users: read, update, ownership', () => {
  it('lets a user read itself and hides another real user as 404 (IDOR)', async () => {
    const alice = await registerUser({ fullName: 'Alice' });
    const bob = await registerUser();
    const own = await call(`/api/v1/users/${alice.user.id}`, { token: alice.accessToken });
    expect(own.status).toBe(200);
    expect(await json<User>(own)).toMatchObject({ id: alice.user.id, fullName: 'Alice' });
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      const res = await call(`/api/v1/users/${bob.user.id}`, { method, token: alice.accessToken, body: method === 'PUT' || method === 'PATCH' ? { fullName: 'x' } : undefined });
      expect(res.status, method).toBe(404);
    }
    expect((await json<User>(await me(bob.accessToken))).fullName).toBeNull();
  });

  it('never returns a hash, secret or internal id', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const res = await call(`/api/v1/users/${u.user.id}`, { token: admin.accessToken });
    const text = await res.text();
    expect(Object.keys(JSON.parse(text)).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'fullName', 'id', 'roles', 'updatedAt']);
    expect(text).not.toMatch(/argon2|password|hash|refresh/i);
  });

  it('refuses mass assignment: roles, permissions, id, verification and unknown fields change nothing', async () => {
    const u = await registerUser({ fullName: 'Before' });
    for (const body of [{ fullName: 'After', roles: ['admin'] }, { fullName: 'After', emailVerified: true }, { fullName: 'After', id: crypto.randomUUID() }, { fullName: 'After', permissions: ['users:read'] }, { fullName: 'After', email: 'new@example.com' }, { fullName: 'After', passwordHash: 'x' }]) {
      const res = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorCode(res)).toBe('VALIDATION_ERROR');
    }
    const after = await json<User>(await me(u.accessToken));
    expect(after).toMatchObject({ fullName: 'Before', roles: ['user'], emailVerified: false, email: u.email });
  });

  it('lets a user PATCH and PUT its own full name', async () => {
    const u = await registerUser();
    const patched = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: '  Carol  ' } });
    expect(patched.status).toBe(200);
    expect((await json<User>(patched)).fullName).toBe('Carol');
    const put = await call(`/api/v1/users/${u.user.id}`, { method: 'PUT', token: u.accessToken, body: { fullName: null } });
    expect(put.status).toBe(200);
    expect((await json<User>(put)).fullName).toBeNull();
    const missing = await call(`/api/v1/users/${u.user.id}`, { method: 'PUT', token: u.accessToken, body: {} });
    expect(missing.status).toBe(400);
  });

  it('lets an admin change email and verification, and refuses a taken email with 409', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const other = await registerUser();
    const ok = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: admin.accessToken, body: { email: ' Changed.Addr@Example.com ', emailVerified: true } });
    expect(ok.status).toBe(200);
    expect(await json<User>(ok)).toMatchObject({ email: 'changed.addr@example.com', emailVerified: true });
    const taken = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: admin.accessToken, body: { email: other.email } });
    expect(taken.status).toBe(409);
    const read = await call(`/api/v1/users/${u.user.id}`, { token: admin.accessToken });
    expect((await json<User>(read)).email).toBe('changed.addr@example.com');
    // An email changed by an admin ends the user's sessions.
    expect((await me(u.accessToken)).status).toBe(401);
  });

  it('soft delete by the user ends every session at once and blocks login', async () => {
    const u = await registerUser();
    const second = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() });
    const secondPair = await json<{ accessToken: string; refreshToken: string }>(second);
    const del = await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: u.accessToken });
    expect(del.status).toBe(204);
    expect((await me(u.accessToken)).status).toBe(401);
    expect((await me(secondPair.accessToken)).status).toBe(401);
    const refresh = await call('/api/v1/auth/refresh', { body: { refreshToken: secondPair.refreshToken } });
    expect(refresh.status).toBe(401);
    const login = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() });
    expect(login.status).toBe(401);
    expect(await errorCode(login)).toBe('INVALID_CREDENTIALS');
    const open = await env.AUTH_DB.prepare('SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.public_id = ? AND s.revoked_at IS NULL').bind(u.user.id).first<{ n: number }>();
    expect(open?.n).toBe(0);
  });

  it('shows a deleted user only to an admin asking for deleted users, and restores it', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call(`/api/v1/users/${u.user.id}`, { token: admin.accessToken })).status).toBe(404);
    const withDeleted = await call(`/api/v1/users/${u.user.id}?includeDeleted=true`, { token: admin.accessToken });
    expect(withDeleted.status).toBe(200);
    expect((await json<User>(withDeleted)).deletedAt).toBeTruthy();
    const restored = await call(`/api/v1/users/${u.user.id}/restore`, { method: 'POST', token: admin.accessToken });
    expect(restored.status).toBe(200);
    const login = await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() });
    expect(login.status).toBe(200);
  });

  it('never lets the last admin be deleted', async () => {
    await env.AUTH_DB.prepare("DELETE FROM user_roles WHERE role_id = (SELECT id FROM roles WHERE name = 'admin')").run();
    const admin = await registerAdmin();
    const res = await call(`/api/v1/users/${admin.user.id}`, { method: 'DELETE', token: admin.accessToken });
    expect(res.status).toBe(422);
    expect((await me(admin.accessToken)).status).toBe(200);
  });
});
