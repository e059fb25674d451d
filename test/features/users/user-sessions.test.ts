import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { call, json, registerUser, type TokenPair } from '../../helpers/api';
import { errorCode, me, registerAdmin } from '../../helpers/users';

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** An admin-made role with exactly these permissions, granted to a fresh user. */
async function delegate(admin: TokenPair, permissions: string[]) {
  const created = await call('/api/v1/roles', { token: admin.accessToken, body: { name: unique('ops'), permissions } });
  expect(created.status).toBe(201);
  const role = await json<{ id: string }>(created);
  const user = await registerUser();
  expect((await call(`/api/v1/users/${user.user.id}/roles/${role.id}`, { method: 'PUT', token: admin.accessToken })).status).toBe(200);
  return user;
}

async function auditCount(action: string, targetId: string): Promise<number> {
  const row = await env.LOGS_DB.prepare('SELECT count(*) AS n FROM audit_logs WHERE action = ?1 AND target_id = ?2').bind(action, targetId).first<{ n: number }>();
  return row?.n ?? 0;
}

async function login(email: string, password: string): Promise<TokenPair> {
  const res = await call('/api/v1/auth/login', { body: { email, password }, ip: '203.0.113.77' });
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

describe('GET/DELETE /users/:id/sessions, GET /users/:id/identities (operators)', () => {
  it("lists another user's live sessions without tokens, newest first", async () => {
    const admin = await registerAdmin();
    const target = await registerUser();
    await login(target.email, target.password);
    const res = await call(`/api/v1/users/${target.user.id}/sessions`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    const body = await json<{ data: Record<string, unknown>[] }>(res);
    expect(body.data).toHaveLength(2);
    for (const s of body.data) expect(Object.keys(s).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'userAgent']);
    expect(JSON.stringify(body)).not.toContain(target.refreshToken.split('.')[1]);
  });

  it("ends every session of a user: its tokens stop at once, audited, the operator's own session stays", async () => {
    const admin = await registerAdmin();
    const target = await registerUser();
    const second = await login(target.email, target.password);
    // Both sessions answered once first, so the hot path's per-user state has them cached.
    expect((await me(target.accessToken)).status).toBe(200);
    expect((await me(second.accessToken)).status).toBe(200);
    const res = await call(`/api/v1/users/${target.user.id}/sessions`, { method: 'DELETE', token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ ended: 2 });
    expect((await me(target.accessToken)).status).toBe(401);
    expect((await me(second.accessToken)).status).toBe(401);
    expect((await call('/api/v1/auth/refresh', { body: { refreshToken: second.refreshToken } })).status).toBe(401);
    expect((await me(admin.accessToken)).status).toBe(200);
    const list = await json<{ data: unknown[] }>(await call(`/api/v1/users/${target.user.id}/sessions`, { token: admin.accessToken }));
    expect(list.data).toEqual([]);
    await vi.waitFor(async () => expect(await auditCount('user.sessions_revoke', target.user.id)).toBe(1), { timeout: 5000 });
  });

  it('refuses callers without the permission: 403 for a plain user, even about itself, and for a reader on DELETE', async () => {
    const admin = await registerAdmin();
    const plain = await registerUser();
    const target = await registerUser();
    for (const path of [`/api/v1/users/${target.user.id}/sessions`, `/api/v1/users/${target.user.id}/identities`, `/api/v1/users/${plain.user.id}/sessions`]) {
      const res = await call(path, { token: plain.accessToken });
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe('FORBIDDEN');
    }
    const reader = await delegate(admin, ['users:read']);
    expect((await call(`/api/v1/users/${target.user.id}/sessions`, { token: reader.accessToken })).status).toBe(200);
    const del = await call(`/api/v1/users/${target.user.id}/sessions`, { method: 'DELETE', token: reader.accessToken });
    expect(del.status).toBe(403);
    expect((await me(target.accessToken)).status).toBe(200);
    expect((await call(`/api/v1/users/${target.user.id}/sessions`)).status).toBe(401);
  });

  it("refuses to end an admin's sessions for a users:write holder (ceiling), and ends a plain user's", async () => {
    const admin = await registerAdmin();
    const writer = await delegate(admin, ['users:read', 'users:write']);
    const res = await call(`/api/v1/users/${admin.user.id}/sessions`, { method: 'DELETE', token: writer.accessToken });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('PERMISSION_CEILING');
    expect((await me(admin.accessToken)).status).toBe(200);
    const plain = await registerUser();
    const ok = await call(`/api/v1/users/${plain.user.id}/sessions`, { method: 'DELETE', token: writer.accessToken });
    expect(ok.status).toBe(200);
    expect((await me(plain.accessToken)).status).toBe(401);
  });

  it('answers 404 for an unknown or deleted user and 400 for a malformed id', async () => {
    const admin = await registerAdmin();
    expect((await call(`/api/v1/users/${crypto.randomUUID()}/sessions`, { token: admin.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/users/${crypto.randomUUID()}/identities`, { token: admin.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/users/${crypto.randomUUID()}/sessions`, { method: 'DELETE', token: admin.accessToken })).status).toBe(404);
    expect((await call('/api/v1/users/not-a-uuid/sessions', { token: admin.accessToken })).status).toBe(400);
    const gone = await registerUser();
    expect((await call(`/api/v1/users/${gone.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call(`/api/v1/users/${gone.user.id}/sessions`, { token: admin.accessToken })).status).toBe(404);
  });

  it("lists another user's linked identities", async () => {
    const admin = await registerAdmin();
    const target = await registerUser();
    await env.AUTH_DB.prepare(
      `INSERT INTO oauth_identities (public_id, created_at, updated_at, user_id, provider, subject, email, email_verified)
       SELECT ?1, 1000, 1000, id, 'github', ?2, ?3, 1 FROM users WHERE public_id = ?4`,
    )
      .bind(crypto.randomUUID(), unique('gh'), target.email, target.user.id)
      .run();
    const res = await call(`/api/v1/users/${target.user.id}/identities`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    const body = await json<{ data: { provider: string; email: string }[] }>(res);
    expect(body.data).toEqual([expect.objectContaining({ provider: 'github', email: target.email })]);
  });
  it("lists another user's live API keys without the secret, for users:read only, 404 for a deleted user", async () => {
    const admin = await registerAdmin();
    const target = await delegate(admin, ['users:read']);
    const created = await call('/api/v1/api-keys', { token: target.accessToken, body: { name: 'report job', permissions: ['users:read'], expiresInDays: 7 } });
    expect(created.status).toBe(201);
    const key = await json<{ id: string; key: string; prefix: string }>(created);
    const res = await call(`/api/v1/users/${target.user.id}/api-keys`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(key.key.slice(key.prefix.length + 1));
    const body = JSON.parse(text) as { data: Record<string, unknown>[] };
    expect(body.data).toEqual([expect.objectContaining({ id: key.id, name: 'report job', prefix: key.prefix, permissions: ['users:read'] })]);
    expect(Object.keys(body.data[0]!).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'permissions', 'prefix']);
    const plain = await registerUser();
    expect((await call(`/api/v1/users/${target.user.id}/api-keys`, { token: plain.accessToken })).status).toBe(403);
    expect((await call(`/api/v1/users/${target.user.id}/api-keys`)).status).toBe(401);
    expect((await call(`/api/v1/users/${target.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call(`/api/v1/users/${target.user.id}/api-keys`, { token: admin.accessToken })).status).toBe(404);
  });
});
