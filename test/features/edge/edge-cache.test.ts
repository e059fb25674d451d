import { describe, expect, it } from 'vitest';
import { call, json } from '../../helpers/api';
import { callWithEnv, generateSigningJwk, workerJwks } from '../../helpers/tokens';
import { registerAdmin } from '../../helpers/users';

interface Policy {
  platform: string;
  minVersion: string;
}

const edge = (res: Response) => res.headers.get('X-Edge-Cache');

describe('public GETs served from the edge cache (Cache API)', () => {
  it('serves the client-version policy from the cache, and purges it on PUT and DELETE', async () => {
    const admin = await registerAdmin();
    const platform = `web-${crypto.randomUUID().slice(0, 6)}`;
    // Whatever an earlier test left: a change purges, so the next read is a miss.
    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '1.0', latestVersion: '1.0' } })).status).toBe(200);
    const miss = await call('/api/v1/client-versions');
    expect(edge(miss)).toBe('MISS');
    expect(miss.headers.get('Cache-Control')).toBe('public, max-age=60, stale-while-revalidate=300');
    const policies = (await json<{ data: Policy[] }>(miss)).data;
    expect(policies.find((p) => p.platform === platform)?.minVersion).toBe('1.0');

    const hit = await call('/api/v1/client-versions/');
    expect(edge(hit)).toBe('HIT');
    expect(hit.headers.get('ETag')).toBe(miss.headers.get('ETag'));
    expect(hit.headers.get('X-Request-Id')).not.toBe(miss.headers.get('X-Request-Id'));
    expect((await json<{ data: Policy[] }>(hit)).data).toEqual(policies);
    // A cached copy still answers If-None-Match.
    expect((await call('/api/v1/client-versions', { headers: { 'If-None-Match': miss.headers.get('ETag')! } })).status).toBe(304);

    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '2.0', latestVersion: '2.0' } })).status).toBe(200);
    const afterPut = await call('/api/v1/client-versions');
    expect(edge(afterPut)).toBe('MISS');
    expect((await json<{ data: Policy[] }>(afterPut)).data.find((p) => p.platform === platform)?.minVersion).toBe('2.0');

    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    const afterDelete = await call('/api/v1/client-versions');
    expect(edge(afterDelete)).toBe('MISS');
    expect((await json<{ data: Policy[] }>(afterDelete)).data.some((p) => p.platform === platform)).toBe(false);
  });

  it('keeps per-request headers out of the cached copy (CORS of another origin, request id)', async () => {
    await call('/api/v1/client-versions');
    const res = await call('/api/v1/client-versions', { headers: { Origin: 'http://localhost:3000' } });
    expect(edge(res)).toBe('HIT');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000');
    const other = await call('/api/v1/client-versions', { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('serves the JWKS from the cache, keyed by the key set: a rotation is never answered with the old set', async () => {
    const first = await callWithEnv({}, '/.well-known/jwks.json');
    await first.text();
    const cached = await callWithEnv({}, '/.well-known/jwks.json');
    expect(edge(cached)).toBe('HIT');
    expect(cached.headers.get('Cache-Control')).toBe('public, max-age=300, stale-while-revalidate=3600');

    const next = await generateSigningJwk(`edge-${crypto.randomUUID().slice(0, 8)}`);
    const rotated = await callWithEnv({ JWT_SIGNING_KEYS: JSON.stringify([next, ...workerJwks()]) }, '/.well-known/jwks.json');
    expect(edge(rotated)).toBe('MISS');
    const { keys } = await json<{ keys: { kid: string }[] }>(rotated);
    expect(keys[0]!.kid).toBe(next.kid);
  });

  it('serves the OpenAPI document from the cache only while it is public', async () => {
    await (await callWithEnv({ API_DOCS: 'public' }, '/api/v1/openapi.json')).text();
    expect(edge(await callWithEnv({ API_DOCS: 'public' }, '/api/v1/openapi.json'))).toBe('HIT');
    const admin = await registerAdmin();
    const privateDoc = await callWithEnv({ API_DOCS: 'admin' }, '/api/v1/openapi.json', { token: admin.accessToken });
    expect(privateDoc.status).toBe(200);
    expect(edge(privateDoc)).toBeNull();
    expect(privateDoc.headers.get('Cache-Control')).toBe('no-store');
    expect((await callWithEnv({ API_DOCS: 'admin' }, '/api/v1/openapi.json')).status).toBe(401);
  });
});
