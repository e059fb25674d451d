import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from '../../helpers/api';
import { answersNotModified, mountedRoutes } from '../../../src/lib/route';
import { openApiDocument } from '../../../src/features/docs/openapi';
import { registerAdmin } from '../../helpers/users';

type Json = Record<string, unknown>;

describe('conditional GETs (ETag, If-None-Match)', () => {
  it('tags a single resource strongly and answers 304 with no body and the same tag', async () => {
    const u = await registerUser();
    // GET /users/:id reads D1 (GET /users/me is answered by the UserState object: no bookmark).
    const first = await call(`/api/v1/users/${u.user.id}`, { token: u.accessToken });
    expect(first.status).toBe(200);
    const etag = first.headers.get('ETag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(first.headers.get('Vary')).toMatch(/Authorization/);
    expect(first.headers.get('Vary')).toMatch(/X-API-Key/);
    await first.text();

    const again = await call(`/api/v1/users/${u.user.id}`, { token: u.accessToken, headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('ETag')).toBe(etag);
    expect(again.headers.get('Content-Type')).toBeNull();
    // The headers of the 200 stay: caching policy, request id, bookmark.
    expect(again.headers.get('Cache-Control')).toBe('no-store');
    expect(again.headers.get('X-Request-Id')).toBeTruthy();
    expect(again.headers.get('X-D1-Bookmark')).toBeTruthy();
  });

  it('matches a tag in a list, a weak form of the tag, and *; anything else gets the 200', async () => {
    const u = await registerUser();
    const etag = (await call('/api/v1/users/me', { token: u.accessToken })).headers.get('ETag')!;
    for (const header of [`"other", ${etag}`, `W/${etag}`, '*', ` "a" ,W/${etag} `]) {
      expect((await call('/api/v1/users/me', { token: u.accessToken, headers: { 'If-None-Match': header } })).status, header).toBe(304);
    }
    for (const header of ['"other"', etag.slice(0, -2) + '"', '']) {
      const res = await call('/api/v1/users/me', { token: u.accessToken, headers: { 'If-None-Match': header } });
      expect(res.status, header).toBe(200);
      expect((await json(res)).email).toBe(u.email);
    }
  });

  it('changes the tag when the resource changes, so a stale tag gets the new body', async () => {
    const u = await registerUser({ fullName: 'Before' });
    const before = (await call('/api/v1/users/me', { token: u.accessToken })).headers.get('ETag')!;
    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'After' } })).status).toBe(200);
    const res = await call('/api/v1/users/me', { token: u.accessToken, headers: { 'If-None-Match': before } });
    expect(res.status).toBe(200);
    expect(res.headers.get('ETag')).not.toBe(before);
    expect((await json(res)).fullName).toBe('After');
  });

  it('tags lists too', async () => {
    const admin = await registerAdmin();
    const first = await call('/api/v1/roles', { token: admin.accessToken });
    expect(first.status).toBe(200);
    const etag = first.headers.get('ETag')!;
    expect(etag).toBeTruthy();
    expect((await call('/api/v1/roles', { token: admin.accessToken, headers: { 'If-None-Match': etag } })).status).toBe(304);
  });

  it('never answers 304 to a caller the representation was not for, nor tags errors and writes', async () => {
    const u = await registerUser();
    const etag = (await call('/api/v1/users/me', { token: u.accessToken })).headers.get('ETag')!;
    const anonymous = await call('/api/v1/users/me', { headers: { 'If-None-Match': etag } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('ETag')).toBeNull();
    const other = await registerUser();
    expect((await call('/api/v1/users/me', { token: other.accessToken, headers: { 'If-None-Match': etag } })).status).toBe(200);
    const write = await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: u.accessToken, body: { fullName: 'x' }, headers: { 'If-None-Match': '*' } });
    expect(write.status).toBe(200);
    expect(write.headers.get('ETag')).toBeNull();
  });

  it('declares 304, If-None-Match and ETag on every GET with a JSON answer, in one rule', () => {
    const doc = openApiDocument('test') as { paths: Record<string, Record<string, { responses: Record<string, Json>; parameters?: Json[] }>> };
    const gets = mountedRoutes().filter((r) => answersNotModified(r.spec));
    expect(gets.length).toBeGreaterThan(15);
    for (const { path, spec } of gets) {
      const op = doc.paths[path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]![spec.method]!;
      expect(op.responses['304'], path).toEqual({ $ref: '#/components/responses/NotModified' });
      expect(op.parameters, path).toContainEqual({ $ref: '#/components/parameters/IfNoneMatch' });
      expect((op.responses['200']!.headers as Json).ETag, path).toEqual({ $ref: '#/components/headers/ETag' });
    }
  });
});
