import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, PASSWORD, type TokenPair } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';
import { runAt } from '../../cron/cron-helpers';

const key = () => `idem-${crypto.randomUUID()}`;
const count = async (db: D1Database, sql: string, ...params: unknown[]) => (await db.prepare(sql).bind(...params).first<number>('n')) ?? 0;

interface Role {
  id: string;
  name: string;
}

describe('Idempotency-Key', () => {
  it('runs 20 parallel identical role creations once: one 201, the others in flight or the replay', async () => {
    const admin = await registerAdmin();
    const k = key();
    const name = `idem-${crypto.randomUUID().slice(0, 8)}`;
    const body = { name, permissions: ['logs:read'] };
    const responses = await Promise.all(Array.from({ length: 20 }, () => call('/api/v1/roles', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    const ids = new Set(await Promise.all(created.map(async (r) => (await json<Role>(r)).id)));
    expect(ids.size).toBe(1);
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(await errorCode(r)).toBe('IDEMPOTENCY_IN_FLIGHT');
      expect(r.headers.get('Retry-After')).toBe('1');
    }
    expect(await count(env.AUTH_DB, 'SELECT count(*) AS n FROM roles WHERE name = ?1', name)).toBe(1);

    // Afterwards, a retry gets the first response again, marked as a replay.
    const again = await call('/api/v1/roles', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } });
    expect(again.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await json<Role>(again)).id).toBe([...ids][0]);
    // Without the key the same body is a new request: the name is taken now.
    expect((await call('/api/v1/roles', { token: admin.accessToken, body })).status).toBe(409);
  });

  it('creates one API key for 20 parallel identical requests, and replays its secret only to that caller', async () => {
    const admin = await registerAdmin();
    const k = key();
    const body = { name: 'ci', permissions: ['logs:read'] };
    const responses = await Promise.all(Array.from({ length: 20 }, () => call('/api/v1/api-keys', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } })));
    expect(responses.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    expect(await count(env.AUTH_DB, 'SELECT count(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.public_id = ?1', admin.user.id)).toBe(1);
    const first = await call('/api/v1/api-keys', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } });
    const firstKey = await json<{ id: string; key: string }>(first);

    // Another caller with the same key and body never sees that replay: its own key is created.
    const other = await registerAdmin();
    const theirs = await call('/api/v1/api-keys', { token: other.accessToken, body, headers: { 'Idempotency-Key': k } });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('Idempotent-Replayed')).toBeNull();
    const theirKey = await json<{ id: string; key: string }>(theirs);
    expect(theirKey.id).not.toBe(firstKey.id);
    expect(theirKey.key).not.toBe(firstKey.key);
  });

  it('answers 422 for the same key with another body, and 400 for a malformed key', async () => {
    const admin = await registerAdmin();
    const k = key();
    const name = `idem-${crypto.randomUUID().slice(0, 8)}`;
    expect((await call('/api/v1/roles', { token: admin.accessToken, body: { name, permissions: [] }, headers: { 'Idempotency-Key': k } })).status).toBe(201);
    const other = await call('/api/v1/roles', { token: admin.accessToken, body: { name: `${name}-2`, permissions: [] }, headers: { 'Idempotency-Key': k } });
    expect(other.status).toBe(422);
    expect(await errorCode(other)).toBe('IDEMPOTENCY_KEY_REUSED');
    // The same key on another route is another request too.
    const elsewhere = await call('/api/v1/api-keys', { token: admin.accessToken, body: { name: 'x', permissions: ['logs:read'] }, headers: { 'Idempotency-Key': k } });
    expect(elsewhere.status).toBe(422);
    const malformed = await call('/api/v1/roles', { token: admin.accessToken, body: { name: `${name}-3`, permissions: [] }, headers: { 'Idempotency-Key': 'has space' } });
    expect(malformed.status).toBe(400);
    expect(await count(env.AUTH_DB, "SELECT count(*) AS n FROM roles WHERE name LIKE ?1 || '-%'", name)).toBe(0);
  });

  it('replays a registration only to the same client: another network gets EMAIL_TAKEN, never the token pair', async () => {
    const k = key();
    const ip = freshIp();
    const body = { email: `idem-${crypto.randomUUID().slice(0, 8)}@example.com`, password: PASSWORD };
    const first = await call('/api/v1/auth/register', { body, ip, headers: { 'Idempotency-Key': k } });
    expect(first.status).toBe(201);
    const pair = await json<TokenPair>(first);
    const retry = await call('/api/v1/auth/register', { body, ip, headers: { 'Idempotency-Key': k } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    const replayed = await json<TokenPair>(retry);
    // The first pair, not a fresh session: replays never mint tokens.
    expect(replayed.refreshToken).toBe(pair.refreshToken);
    expect(replayed.accessToken).toBe(pair.accessToken);
    expect(await count(env.AUTH_DB, 'SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.public_id = ?1', pair.user.id)).toBe(1);

    const stranger = await call('/api/v1/auth/register', { body, ip: freshIp(), headers: { 'Idempotency-Key': k } });
    expect(stranger.status).toBe(409);
    const text = await stranger.text();
    expect(text).not.toContain(pair.refreshToken);
    expect(JSON.parse(text).error.code).toBe('EMAIL_TAKEN');
  });

  it('stores no key and no readable body: only hashes and ciphertext', async () => {
    const admin = await registerAdmin();
    const k = key();
    const res = await call('/api/v1/api-keys', { token: admin.accessToken, body: { name: 'secret-check', permissions: ['logs:read'] }, headers: { 'Idempotency-Key': k } });
    const { key: secret } = await json<{ key: string }>(res);
    const rows = await env.APP_DB.prepare('SELECT key_hash, request_hash, body FROM idempotency_keys').all<Record<string, string>>();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(k);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain('secret-check');
  });

  it('runs the request again once the record expired, and the cron purges expired records', async () => {
    const admin = await registerAdmin();
    const k = key();
    const body = { name: 'expiring', permissions: ['logs:read'] };
    const first = await json<{ id: string }>(await call('/api/v1/api-keys', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } }));
    await env.APP_DB.prepare("UPDATE idempotency_keys SET expires_at = ?1 WHERE state = 'done'").bind(Date.now() - 1).run();
    const second = await call('/api/v1/api-keys', { token: admin.accessToken, body, headers: { 'Idempotency-Key': k } });
    expect(second.status).toBe(201);
    expect(second.headers.get('Idempotent-Replayed')).toBeNull();
    expect((await json<{ id: string }>(second)).id).not.toBe(first.id);

    await env.APP_DB.prepare('UPDATE idempotency_keys SET expires_at = ?1').bind(Date.now() - 1).run();
    const { idempotencyKeys } = await runAt('*/5 * * * *');
    expect(idempotencyKeys!.affected).toBeGreaterThanOrEqual(1);
    expect(await count(env.APP_DB, 'SELECT count(*) AS n FROM idempotency_keys WHERE expires_at <= ?1', Date.now())).toBe(0);
  });

  it('documents the header and the 409 / 422 codes on every idempotent operation', async () => {
    const admin = await registerAdmin();
    const doc = await json<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, { $ref?: string }> }>>; components: { responses: Record<string, unknown> } }>(
      await call('/api/v1/openapi.json', { token: admin.accessToken }),
    );
    const resolve = (r: { $ref?: string } | undefined) => JSON.stringify(r?.$ref ? doc.components.responses[r.$ref.split('/').pop()!] : r);
    for (const [path, method] of [
      ['/api/v1/auth/register', 'post'],
      ['/api/v1/roles', 'post'],
      ['/api/v1/api-keys', 'post'],
      ['/api/v1/notifications', 'post'],
    ] as const) {
      const op = doc.paths[path]![method]!;
      expect(op.parameters?.some((p) => p.name === 'Idempotency-Key' && p.in === 'header'), path).toBe(true);
      expect(resolve(op.responses['409'])).toContain('IDEMPOTENCY_IN_FLIGHT');
      expect(resolve(op.responses['422'])).toContain('IDEMPOTENCY_KEY_REUSED');
    }
  });
});
