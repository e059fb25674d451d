import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { recordedMessages } from '../../src/features/notifications/channels/recording';
import { call, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { errorCode, me, registerAdmin, roleId } from '../helpers/users';

interface Role {
  id: string;
  name: string;
  permissions: string[];
}
interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
}

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** An admin-made role with exactly these permissions, granted to a fresh user. */
async function delegate(admin: TokenPair, permissions: string[]): Promise<{ user: Awaited<ReturnType<typeof registerUser>>; role: Role }> {
  const created = await call('/api/v1/roles', { token: admin.accessToken, body: { name: unique('delegate'), permissions } });
  expect(created.status).toBe(201);
  const role = await json<Role>(created);
  const user = await registerUser();
  expect((await call(`/api/v1/users/${user.user.id}/roles/${role.id}`, { method: 'PUT', token: admin.accessToken })).status).toBe(200);
  return { user, role };
}

async function auditCount(action: string, targetId: string | null = null): Promise<number> {
  const row = await env.LOGS_DB.prepare(`SELECT count(*) AS n FROM audit_logs WHERE action = ?1 AND (?2 IS NULL OR target_id = ?2)`).bind(action, targetId).first<{ n: number }>();
  return row?.n ?? 0;
}

describe('authorization ceilings: a roles:write holder cannot escalate', () => {
  it('refuses to create a role with a permission the caller lacks, and creates one within it', async () => {
    const admin = await registerAdmin();
    const { user: manager } = await delegate(admin, ['roles:read', 'roles:write', 'users:read']);
    const wide = await call('/api/v1/roles', { token: manager.accessToken, body: { name: unique('wide'), permissions: ['users:read', 'users:delete'] } });
    expect(wide.status).toBe(403);
    expect(await errorCode(wide)).toBe('PERMISSION_CEILING');
    const count = await env.AUTH_DB.prepare("SELECT count(*) AS n FROM roles WHERE permissions LIKE '%users:delete%' AND built_in = 0").first<{ n: number }>();
    const narrow = await call('/api/v1/roles', { token: manager.accessToken, body: { name: unique('narrow'), permissions: ['users:read'] } });
    expect(narrow.status).toBe(201);
    expect((await env.AUTH_DB.prepare("SELECT count(*) AS n FROM roles WHERE permissions LIKE '%users:delete%' AND built_in = 0").first<{ n: number }>())?.n).toBe(count?.n);
  });

  it('refuses to widen, narrow or delete a role the caller holds', async () => {
    const admin = await registerAdmin();
    const { user: manager, role } = await delegate(admin, ['roles:read', 'roles:write']);
    const widen = await call(`/api/v1/roles/${role.id}`, { method: 'PUT', token: manager.accessToken, body: { name: role.name, description: '', permissions: [...role.permissions, 'users:write'] } });
    expect(widen.status).toBe(403);
    expect(await errorCode(widen)).toBe('PERMISSION_CEILING');
    // Even a change within its own permissions is refused: a role one holds is edited by someone else.
    const same = await call(`/api/v1/roles/${role.id}`, { method: 'PUT', token: manager.accessToken, body: { name: role.name, description: 'mine now', permissions: ['roles:read'] } });
    expect(same.status).toBe(403);
    expect((await call(`/api/v1/roles/${role.id}`, { method: 'DELETE', token: manager.accessToken })).status).toBe(403);
    const stored = await json<Role>(await call(`/api/v1/roles/${role.id}`, { token: admin.accessToken }));
    expect(stored.permissions).toEqual(['roles:read', 'roles:write']);
    await vi.waitFor(async () => expect(await auditCount('authz.ceiling', role.id)).toBeGreaterThan(0), { timeout: 8000 });
  });

  it('refuses to grant admin, or a role beyond its permissions, to an account it controls; grants what it holds', async () => {
    const admin = await registerAdmin();
    const { user: manager } = await delegate(admin, ['roles:read', 'roles:write', 'users:read']);
    const sock = await registerUser();
    const grantAdmin = await call(`/api/v1/users/${sock.user.id}/roles/${await roleId('admin')}`, { method: 'PUT', token: manager.accessToken });
    expect(grantAdmin.status).toBe(403);
    expect(await errorCode(grantAdmin)).toBe('PERMISSION_CEILING');
    const strong = await json<Role>(await call('/api/v1/roles', { token: admin.accessToken, body: { name: unique('strong'), permissions: ['users:delete'] } }));
    expect((await call(`/api/v1/users/${sock.user.id}/roles/${strong.id}`, { method: 'PUT', token: manager.accessToken })).status).toBe(403);
    expect((await json<User>(await me(sock.accessToken))).roles).toEqual(['user']);
    const reader = await json<Role>(await call('/api/v1/roles', { token: admin.accessToken, body: { name: unique('reader'), permissions: ['users:read'] } }));
    const ok = await call(`/api/v1/users/${sock.user.id}/roles/${reader.id}`, { method: 'PUT', token: manager.accessToken });
    expect(ok.status).toBe(200);
    expect((await json<User>(ok)).roles).toContain(reader.name);
  });

  it('refuses to revoke roles from, or change the roles of, a more privileged user', async () => {
    const admin = await registerAdmin();
    const { user: manager } = await delegate(admin, ['roles:read', 'roles:write']);
    const other = await registerAdmin();
    const revoke = await call(`/api/v1/users/${other.user.id}/roles/${await roleId('admin')}`, { method: 'DELETE', token: manager.accessToken });
    expect(revoke.status).toBe(403);
    const revokeUser = await call(`/api/v1/users/${other.user.id}/roles/${await roleId('user')}`, { method: 'DELETE', token: manager.accessToken });
    expect(revokeUser.status).toBe(403);
    expect((await json<User>(await me(other.accessToken))).roles).toEqual(['admin', 'user']);
  });

  it('lets an admin change the admin role, grant it and edit roles it holds', async () => {
    const admin = await registerAdmin();
    const target = await registerUser();
    expect((await call(`/api/v1/users/${target.user.id}/roles/${await roleId('admin')}`, { method: 'PUT', token: admin.accessToken })).status).toBe(200);
    const adminRole = await json<Role>(await call(`/api/v1/roles/${await roleId('admin')}`, { token: admin.accessToken }));
    const put = await call(`/api/v1/roles/${adminRole.id}`, { method: 'PUT', token: admin.accessToken, body: { name: 'admin', description: 'Operators', permissions: adminRole.permissions } });
    expect(put.status).toBe(200);
  });
});

describe('authorization ceilings: users:write and users:delete act only on less privileged users', () => {
  it('refuses a users:write holder changing an admin email (the takeover path), and changes nothing', async () => {
    const admin = await registerAdmin();
    const { user: support } = await delegate(admin, ['users:read', 'users:write']);
    const victim = await registerAdmin();
    const attack = await call(`/api/v1/users/${victim.user.id}`, { method: 'PATCH', token: support.accessToken, body: { email: `attacker-${crypto.randomUUID()}@example.com` } });
    expect(attack.status).toBe(403);
    expect(await errorCode(attack)).toBe('PERMISSION_CEILING');
    const put = await call(`/api/v1/users/${victim.user.id}`, { method: 'PATCH', token: support.accessToken, body: { fullName: 'Owned' } });
    expect(put.status).toBe(403);
    const after = await json<User & { fullName: string | null }>(await me(victim.accessToken));
    expect(after.email).toBe(victim.email);
    expect(after.fullName).not.toBe('Owned');
    const del = await call(`/api/v1/users/${victim.user.id}`, { method: 'DELETE', token: (await delegate(admin, ['users:delete'])).user.accessToken });
    expect(del.status).toBe(403);
    expect((await me(victim.accessToken)).status).toBe(200);
  });

  it('lets a users:write holder edit a plain user; the email change unverifies, signs out, voids links and tells the old address', async () => {
    const admin = await registerAdmin();
    const { user: support } = await delegate(admin, ['users:read', 'users:write']);
    const target = await registerUser();
    await env.AUTH_DB.prepare('UPDATE users SET email_verified_at = 1 WHERE public_id = ?').bind(target.user.id).run();
    expect((await call('/api/v1/auth/password/forgot', { body: { email: target.email }, ip: freshIp() })).status).toBe(202);
    await vi.waitFor(async () => {
      const row = await env.AUTH_DB.prepare("SELECT count(*) AS n FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.public_id = ? AND t.purpose = 'reset_password'").bind(target.user.id).first<{ n: number }>();
      expect(row?.n).toBe(1);
    });
    const newEmail = `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const res = await call(`/api/v1/users/${target.user.id}`, { method: 'PATCH', token: support.accessToken, body: { email: newEmail } });
    expect(res.status).toBe(200);
    expect(await json<User>(res)).toMatchObject({ email: newEmail, emailVerified: false });
    expect((await me(target.accessToken)).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: target.refreshToken }, ip: freshIp() })).status).toBe(401);
    const pending = await env.AUTH_DB.prepare('SELECT count(*) AS n FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.public_id = ? AND t.used_at IS NULL').bind(target.user.id).first<{ n: number }>();
    expect(pending?.n).toBe(0);
    await vi.waitFor(() => expect(recordedMessages((m) => m.channel === 'email' && m.to === target.email && /changed by an administrator/.test(m.title))).toHaveLength(1), { timeout: 8000 });
  });
});
