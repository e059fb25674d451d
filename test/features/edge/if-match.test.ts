import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';

interface User {
  fullName: string | null;
}

async function read(id: string, token: string): Promise<{ etag: string; user: User }> {
  const res = await call(`/api/v1/users/${id}`, { token });
  expect(res.status).toBe(200);
  return { etag: res.headers.get('ETag')!, user: await json<User>(res) };
}

describe('If-Match on PUT/PATCH/DELETE /users/:id (lost-update protection)', () => {
  it('writes with the current tag, refuses a stale one with 412 and writes nothing', async () => {
    const u = await registerUser({ fullName: 'First' });
    const { etag } = await read(u.user.id, u.accessToken);
    const ok = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'Second' }, headers: { 'If-Match': etag } });
    expect(ok.status).toBe(200);
    const stale = await call(`/api/v1/users/${u.user.id}`, { method: 'PUT', token: u.accessToken, body: { fullName: 'Lost' }, headers: { 'If-Match': etag } });
    expect(stale.status).toBe(412);
    expect(await errorCode(stale)).toBe('PRECONDITION_FAILED');
    expect((await read(u.user.id, u.accessToken)).user.fullName).toBe('Second');
  });

  it('accepts * and a list holding the current tag; a weak tag never matches (strong comparison)', async () => {
    const u = await registerUser();
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'A' }, headers: { 'If-Match': '*' } })).status).toBe(200);
    const { etag } = await read(u.user.id, u.accessToken);
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'B' }, headers: { 'If-Match': `W/${etag}` } })).status).toBe(412);
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'B' }, headers: { 'If-Match': `"x", ${etag}` } })).status).toBe(200);
    // Without the header, writes go ahead as before.
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'C' } })).status).toBe(200);
  });

  it('lets exactly one of 10 parallel writers holding the same tag through', async () => {
    const u = await registerUser({ fullName: 'Start' });
    const { etag } = await read(u.user.id, u.accessToken);
    const names = Array.from({ length: 10 }, (_, i) => `Writer ${i}`);
    const responses = await Promise.all(names.map((fullName) => call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName }, headers: { 'If-Match': etag } })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(9);
    const winner = names[statuses.indexOf(200)];
    expect((await read(u.user.id, u.accessToken)).user.fullName).toBe(winner);
  });

  it('refuses a DELETE on a stale tag and keeps the user', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const { etag } = await read(u.user.id, admin.accessToken);
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'Changed' } })).status).toBe(200);
    const stale = await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken, headers: { 'If-Match': etag } });
    expect(stale.status).toBe(412);
    const fresh = await read(u.user.id, admin.accessToken);
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken, headers: { 'If-Match': fresh.etag } })).status).toBe(204);
  });

  it('documents If-Match and 412 PRECONDITION_FAILED on those operations', async () => {
    const doc = await json<{ paths: Record<string, Record<string, { parameters: unknown[]; responses: Record<string, unknown> }>>; components: { responses: Record<string, unknown> } }>(
      await call('/api/v1/openapi.json'),
    );
    for (const method of ['put', 'patch', 'delete']) {
      const op = doc.paths['/api/v1/users/{id}']![method]!;
      expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/IfMatch' });
      expect(op.responses['412']).toEqual({ $ref: '#/components/responses/PreconditionFailed' });
    }
    expect(JSON.stringify(doc.components.responses.PreconditionFailed)).toContain('PRECONDITION_FAILED');
  });
});
