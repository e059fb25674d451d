import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDatabases } from '../../../src/db/client';
import { rotateKey } from '../../../src/features/api-keys/api-keys.service';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin, roleId } from '../../helpers/users';

interface Key {
  id: string;
  key: string;
  prefix: string;
  permissions: string[];
  expiresAt: string;
}

/** Keys of a user that still work (not revoked, not expired). */
async function liveKeys(userPublicId: string): Promise<number> {
  const row = await env.AUTH_DB.prepare('SELECT count(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.public_id = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2)')
    .bind(userPublicId, Date.now())
    .first<number>('n');
  return row ?? 0;
}

async function createKey(token: string, body: Record<string, unknown>): Promise<Response> {
  return call('/api/v1/api-keys', { token, body });
}

describe('API keys', () => {
  it('creates a scoped key shown once, stored only as a hash, usable with X-API-Key', async () => {
    const admin = await registerAdmin();
    const res = await createKey(admin.accessToken, { name: 'billing service', permissions: ['users:read'], expiresInDays: 30 });
    expect(res.status).toBe(201);
    const key = await json<Key>(res);
    expect(key.key).toMatch(/^ubr_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$/);
    expect(key.key.startsWith(key.prefix)).toBe(true);
    const stored = await env.AUTH_DB.prepare('SELECT key_hash FROM api_keys WHERE public_id = ?').bind(key.id).first<{ key_hash: string }>();
    expect(stored?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(key.key.slice(16));
    const list = await json<{ data: Record<string, unknown>[] }>(await call('/api/v1/api-keys', { token: admin.accessToken }));
    expect(list.data.map((k) => k.id)).toContain(key.id);
    expect(JSON.stringify(list)).not.toContain(key.key);
    // In scope: allowed. Out of scope (the owner could, the key cannot): 403.
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': key.key } })).status).toBe(200);
    expect((await call('/api/v1/logs', { headers: { 'X-API-Key': key.key } })).status).toBe(403);
  });

  it('refuses forged, truncated, revoked and expired keys with 401', async () => {
    const admin = await registerAdmin();
    const key = await json<Key>(await createKey(admin.accessToken, { name: 'k', permissions: ['users:read'] }));
    const last = key.key.at(-1) === 'A' ? 'B' : 'A';
    for (const bad of [`${key.key.slice(0, -1)}${last}`, key.key.slice(0, -3), 'ubr_aaaaaaaaaa_' + 'x'.repeat(43), "ubr_' OR 1=1 --", '']) {
      expect((await call('/api/v1/users', { headers: { 'X-API-Key': bad } })).status, bad).toBe(401);
    }
    expect((await call(`/api/v1/api-keys/${key.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': key.key } })).status).toBe(401);
    const other = await json<Key>(await createKey(admin.accessToken, { name: 'k2', permissions: ['users:read'] }));
    await env.AUTH_DB.prepare('UPDATE api_keys SET expires_at = 1 WHERE public_id = ?').bind(other.id).run();
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': other.key } })).status).toBe(401);
  });

  it('cannot carry a permission its creator lacks, and narrows when the owner loses a role', async () => {
    const u = await registerUser();
    const escalate = await createKey(u.accessToken, { name: 'x', permissions: ['users:read'] });
    expect(escalate.status).toBe(403);
    const admin = await registerAdmin();
    const boss = await registerAdmin();
    const key = await json<Key>(await createKey(boss.accessToken, { name: 'svc', permissions: ['users:read'] }));
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': key.key } })).status).toBe(200);
    await call(`/api/v1/users/${boss.user.id}/roles/${await roleId('admin')}`, { method: 'DELETE', token: admin.accessToken });
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': key.key } })).status).toBe(403);
  });

  it('rotates: the new key works, the old one stops at once', async () => {
    const admin = await registerAdmin();
    const key = await json<Key>(await createKey(admin.accessToken, { name: 'rotating', permissions: ['roles:read'] }));
    const rotated = await call(`/api/v1/api-keys/${key.id}/rotate`, { method: 'POST', token: admin.accessToken });
    expect(rotated.status).toBe(201);
    const fresh = await json<Key>(rotated);
    expect(fresh.key).not.toBe(key.key);
    expect(fresh.permissions).toEqual(['roles:read']);
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': key.key } })).status).toBe(401);
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': fresh.key } })).status).toBe(200);
  });

  it('rotates a key once when two rotations race: one 201, one 404, exactly one working key', async () => {
    const admin = await registerAdmin();
    const key = await json<Key>(await createKey(admin.accessToken, { name: 'raced', permissions: ['roles:read'] }));
    const rotate = () => call(`/api/v1/api-keys/${key.id}/rotate`, { method: 'POST', token: admin.accessToken });
    const results = await Promise.all([rotate(), rotate(), rotate()]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 404, 404]);
    const winner = await json<Key>(results.find((r) => r.status === 201)!);
    expect(await liveKeys(admin.user.id)).toBe(1);
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': winner.key } })).status).toBe(200);
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': key.key } })).status).toBe(401);
    // Straight at the service, where both reads surely happen before either write.
    const owner = { userInternalId: (await env.AUTH_DB.prepare('SELECT id FROM users WHERE public_id = ?').bind(admin.user.id).first<number>('id'))!, permissions: new Set(['roles:read']) };
    const raced = await Promise.allSettled([rotateKey(createDatabases(env), owner, winner.id), rotateKey(createDatabases(env), owner, winner.id)]);
    expect(raced.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(raced.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await liveKeys(admin.user.id)).toBe(1);
    const survivor = raced.find((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof rotateKey>>> => r.status === 'fulfilled')!.value;
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': winner.key } })).status).toBe(401);
    expect((await call('/api/v1/roles', { headers: { 'X-API-Key': survivor.key } })).status).toBe(200);
    // The surviving key rotates again as usual.
    expect((await call(`/api/v1/api-keys/${survivor.id}/rotate`, { method: 'POST', token: admin.accessToken })).status).toBe(201);
    expect(await liveKeys(admin.user.id)).toBe(1);
  });

  it('keeps the cap of 20 active keys exact under 25 parallel creates', async () => {
    const u = await registerUser();
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => createKey(u.accessToken, { name: `k${i}`, permissions: [] })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 422)).toHaveLength(5);
    expect(await errorCode(results.find((r) => r.status === 422)!)).toBe('BUSINESS_RULE');
    expect(await liveKeys(u.user.id)).toBe(20);
    // A revoked or expired key frees its slot.
    const first = await json<Key>(results.find((r) => r.status === 201)!);
    expect((await call(`/api/v1/api-keys/${first.id}`, { method: 'DELETE', token: u.accessToken })).status).toBe(204);
    expect((await createKey(u.accessToken, { name: 'again', permissions: [] })).status).toBe(201);
    expect((await createKey(u.accessToken, { name: 'over', permissions: [] })).status).toBe(422);
    await env.AUTH_DB.prepare('UPDATE api_keys SET expires_at = 1 WHERE id = (SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.public_id = ? AND k.revoked_at IS NULL LIMIT 1)').bind(u.user.id).run();
    expect((await createKey(u.accessToken, { name: 'after expiry', permissions: [] })).status).toBe(201);
    expect(await liveKeys(u.user.id)).toBe(20);
  });

  it("does not let a key act on self-service routes or another user's keys", async () => {
    const admin = await registerAdmin();
    const key = await json<Key>(await createKey(admin.accessToken, { name: 'svc', permissions: ['users:read'] }));
    const logout = await call('/api/v1/auth/logout', { method: 'POST', headers: { 'X-API-Key': key.key } });
    expect(logout.status).toBe(401);
    const mallory = await registerUser();
    expect((await call(`/api/v1/api-keys/${key.id}`, { method: 'DELETE', token: mallory.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/api-keys/${key.id}/rotate`, { method: 'POST', token: mallory.accessToken })).status).toBe(404);
    expect((await call('/api/v1/users', { headers: { 'X-API-Key': key.key } })).status).toBe(200);
  });

  it('validates the request body', async () => {
    const admin = await registerAdmin();
    const res = await createKey(admin.accessToken, { name: '', permissions: ['nope'], expiresInDays: 9999, extra: 1 });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('VALIDATION_ERROR');
  });
});
