import { describe, expect, it } from 'vitest';
import '../../src/app';
import { routeAt } from '../../src/lib/allowed-methods';
import { apiPath, fullPath, mountRoutes, mountedRoutes, PUBLIC, type RouteSpec } from '../../src/lib/route';
import { endpoint } from '../../src/middleware/endpoint';
import { assertResponseContract } from '../helpers/contract';

describe('one declaration per route', () => {
  it('reads every full path from where app.ts mounts the router', () => {
    const paths = mountedRoutes().map((r) => `${r.spec.method} ${r.path}`);
    expect(paths).toContain('get /api/v1/roles/:id');
    expect(paths).toContain('get /.well-known/jwks.json');
    expect(paths).toContain('get /docs');
    const me = routeAt('GET', '/api/v1/users/me')!;
    expect(fullPath(me)).toBe('/api/v1/users/me');
    expect(apiPath(me)).toBe('/users/me');
    // The fixed path wins over the parameter, as in Hono's own matching.
    expect(routeAt('GET', `/api/v1/users/${crypto.randomUUID()}`)).not.toBe(me);
  });

  it('refuses to start when a router registers a spec under another method', () => {
    const spec: RouteSpec = { method: 'post', path: '/probe', summary: 'probe', tags: [], access: PUBLIC, responses: { 200: { description: 'ok' } } };
    const handler = endpoint(spec);
    expect(() => mountRoutes([{ method: 'GET', path: '/probe', handler }])).toThrow(/declared as post/);
    expect(mountedRoutes().length).toBeGreaterThan(50);
  });

  it('fails a test whose response drifts from the declared schema', async () => {
    const drifted = new Response(JSON.stringify({ id: 1 }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    await expect(assertResponseContract('GET', 'http://x/api/v1/users/me', drifted)).rejects.toThrow(/does not match the declared schema/);
    const undeclared = new Response(JSON.stringify({}), { status: 202, headers: { 'Content-Type': 'application/json' } });
    await expect(assertResponseContract('GET', 'http://x/api/v1/users/me', undeclared)).rejects.toThrow(/does not declare/);
    const notEnvelope = new Response(JSON.stringify({ message: 'nope' }), { status: 401, headers: { 'Content-Type': 'application/json' } });
    await expect(assertResponseContract('GET', 'http://x/api/v1/users/me', notEnvelope)).rejects.toThrow(/does not match/);
  });
});
