import { PERMISSIONS } from '../../../src/lib/permissions';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDatabases } from '../../../src/db/client';
import { revokeRole } from '../../../src/features/users/user-roles.service';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, me, registerAdmin, roleId } from '../../helpers/users';

interface Role {
  id: string;
  name: string;
  permissions: string[];
  builtIn: boolean;
}

describe('roles and permissions', () => {
  it('creates, reads, replaces and deletes a role; a duplicate name is 409', async () => {
    const admin = await registerAdmin();
    const created = await call('/api/v1/roles', { token: admin.accessToken, body: { name: 'auditor', description: 'Reads logs', permissions: ['logs:read', 'logs:read'] } });
    expect(created.status).toBe(201);
    const role = await json<Role>(created);
    expect(role).toMatchObject({ name: 'auditor', permissions: ['logs:read'], builtIn: false });
    expect((await call('/api/v1/roles', { token: admin.accessToken, body: { name: 'auditor', permissions: [] } })).status).toBe(409);
    const got = await call(`/api/v1/roles/${role.id}`, { token: admin.accessToken });
    expect(await json<Role>(got)).toMatchObject({ id: role.id, name: 'auditor' });
    const put = await call(`/api/v1/roles/${role.id}`, { method: 'PUT', token: admin.accessToken, body: { name: 'auditor', description: '', permissions: ['logs:read', 'users:read'] } });
    expect((await json<Role>(put)).permissions).toEqual(['logs:read', 'users:read']);
    const renamedToTaken = await call(`/api/v1/roles/${role.id}`, { method: 'PUT', token: admin.accessToken, body: { name: 'user', description: '', permissions: [] } });
    expect(renamedToTaken.status).toBe(409);
    expect((await call(`/api/v1/roles/${role.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call(`/api/v1/roles/${role.id}`, { token: admin.accessToken })).status).toBe(404);
  });

  it('refuses unknown permissions and bad names with every field at once', async () => {
    const admin = await registerAdmin();
    const res = await call('/api/v1/roles', { token: admin.accessToken, body: { name: 'Bad Name!', permissions: ['users:fly'] } });
    expect(res.status).toBe(400);
    const fields = (await json<{ error: { details: { field: string }[] } }>(res)).error.details.map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'permissions.0']));
  });

  it('keeps built-in roles: not deletable, not renamable, admin keeps every permission', async () => {
    const admin = await registerAdmin();
    const adminRole = await roleId('admin');
    const userRole = await roleId('user');
    expect((await call(`/api/v1/roles/${adminRole}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(422);
    expect((await call(`/api/v1/roles/${userRole}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(422);
    const rename = await call(`/api/v1/roles/${userRole}`, { method: 'PUT', token: admin.accessToken, body: { name: 'member', description: '', permissions: [] } });
    expect(rename.status).toBe(422);
    const shrink = await call(`/api/v1/roles/${adminRole}`, { method: 'PUT', token: admin.accessToken, body: { name: 'admin', description: '', permissions: ['users:read'] } });
    expect(shrink.status).toBe(422);
  });

  it('grants a custom role whose permission works on the next request, and revokes it at once', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    expect((await call('/api/v1/logs', { token: u.accessToken })).status).toBe(403);
    const role = await json<Role>(await call('/api/v1/roles', { token: admin.accessToken, body: { name: `reader-${crypto.randomUUID().slice(0, 6)}`, permissions: ['logs:read'] } }));
    const grant = await call(`/api/v1/users/${u.user.id}/roles/${role.id}`, { method: 'PUT', token: admin.accessToken });
    expect(grant.status).toBe(200);
    expect((await json<{ roles: string[] }>(grant)).roles).toContain(role.name);
    expect((await call('/api/v1/logs', { token: u.accessToken })).status).toBe(200);
    expect((await call(`/api/v1/users/${u.user.id}/roles/${role.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/logs', { token: u.accessToken })).status).toBe(403);
  });

  it('revoking admin takes effect for tokens already issued, on the very next request', async () => {
    const admin = await registerAdmin();
    const other = await registerAdmin();
    expect((await call('/api/v1/users', { token: other.accessToken })).status).toBe(200);
    const revoke = await call(`/api/v1/users/${other.user.id}/roles/${await roleId('admin')}`, { method: 'DELETE', token: admin.accessToken });
    expect(revoke.status).toBe(204);
    expect((await call('/api/v1/users', { token: other.accessToken })).status).toBe(403);
    expect((await json<{ roles: string[] }>(await me(other.accessToken))).roles).toEqual(['user']);
  });

  it('never lets anyone change their own roles, nor a user grant roles', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const own = await call(`/api/v1/users/${admin.user.id}/roles/${await roleId('admin')}`, { method: 'DELETE', token: admin.accessToken });
    expect(own.status).toBe(403);
    const selfGrant = await call(`/api/v1/users/${u.user.id}/roles/${await roleId('admin')}`, { method: 'PUT', token: u.accessToken });
    expect(selfGrant.status).toBe(403);
    expect(await errorCode(selfGrant)).toBe('FORBIDDEN');
    expect((await json<{ roles: string[] }>(await me(u.accessToken))).roles).toEqual(['user']);
  });

  it('keeps the admin role on the last admin, even when two admins revoke each other at once', async () => {
    await env.AUTH_DB.prepare("DELETE FROM user_roles WHERE role_id = (SELECT id FROM roles WHERE name = 'admin')").run();
    const a = await registerAdmin();
    const b = await registerAdmin();
    const adminRole = await roleId('admin');
    const [ab, ba] = await Promise.all([
      call(`/api/v1/users/${b.user.id}/roles/${adminRole}`, { method: 'DELETE', token: a.accessToken }),
      call(`/api/v1/users/${a.user.id}/roles/${adminRole}`, { method: 'DELETE', token: b.accessToken }),
    ]);
    const statuses = [ab.status, ba.status].sort();
    // One revoke wins; the other is refused (422 last admin, or 403 when its caller is no longer admin).
    expect(statuses[0]).toBe(204);
    expect([403, 422]).toContain(statuses[1]);
    const n = await env.AUTH_DB.prepare("SELECT count(*) AS n FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.name = 'admin'").first<{ n: number }>();
    expect(n?.n).toBe(1);
    const last = ab.status === 204 ? a : b;
    await expect(revokeRole(createDatabases(env), { permissions: [...PERMISSIONS], isAdmin: true, userInternalId: 0 }, last.user.id, adminRole)).rejects.toMatchObject({ status: 422, code: 'BUSINESS_RULE' });
  });

  it('returns 404 for unknown role or user ids and 400 for malformed ones', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    expect((await call(`/api/v1/users/${u.user.id}/roles/${crypto.randomUUID()}`, { method: 'PUT', token: admin.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/users/${crypto.randomUUID()}/roles/${await roleId('user')}`, { method: 'PUT', token: admin.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/roles/not-a-uuid`, { token: admin.accessToken })).status).toBe(400);
  });
});
