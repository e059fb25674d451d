import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { apiPath, fullPath, routeRegistry, type RouteSpec } from '../../src/lib/route';
import { call, freshIp, json, registerUser } from '../helpers/api';
import { registerAdmin, roleId } from '../helpers/users';

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
/**
 * Public to the session guard, authenticated by OAuth credentials in the handler: RFC 6750 §3.1
 * answers 401 without a Bearer OAuth access token.
 */
const OAUTH_BEARER = new Set(['GET /oauth/userinfo']);
/** Public to the session guard, but refused (403) without the console's CSRF header and same-origin Origin. */
const isConsoleCsrf = (spec: RouteSpec) => apiPath(spec).startsWith('/auth/console/');
const specs = new Map(routeRegistry.map((s) => [key(s.method, fullPath(s)), s]));

function concrete(spec: RouteSpec, ids: { user: string; role: string; roleForUser: string }): string {
  return fullPath(spec)
    .replace(':roleId', ids.roleForUser)
    .replace(':id', apiPath(spec).startsWith('/roles') ? ids.role : apiPath(spec).startsWith('/auth/sessions') ? crypto.randomUUID() : ids.user);
}

async function send(spec: RouteSpec, path: string, token?: string): Promise<Response> {
  const method = spec.method.toUpperCase();
  const body = method === 'GET' || method === 'DELETE' ? undefined : {};
  return call(path, { method, token, body, ip: freshIp() });
}

describe('authorization matrix', () => {
  it('has a guard spec for every route the app registers (no route without an explicit access rule)', () => {
    const registered = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => key(r.method, r.path)));
    const missing = [...registered].filter((k) => !specs.has(k));
    expect(missing).toEqual([]);
    // And every spec is really mounted (no dead declarations).
    expect([...specs.keys()].filter((k) => !registered.has(k))).toEqual([]);
  });

  it('enforces each route for anonymous, a user, another user and an admin', async () => {
    const admin = await registerAdmin();
    const alice = await registerUser();
    const victim = await registerUser();
    const custom = await json<{ id: string }>(await call('/api/v1/roles', { token: admin.accessToken, body: { name: `matrix-${crypto.randomUUID().slice(0, 6)}`, permissions: [] } }));
    const ids = { user: victim.user.id, role: custom.id, roleForUser: await roleId('user') };
    const failures: string[] = [];
    const expectThat = (ok: boolean, what: string) => {
      if (!ok) failures.push(what);
    };

    for (const spec of routeRegistry) {
      const path = concrete(spec, ids);
      const label = key(spec.method, fullPath(spec));
      const anon = await send(spec, path);
      if (OAUTH_BEARER.has(label)) expectThat(anon.status === 401, `${label} anonymous got ${anon.status}, want 401`);
      else if (isConsoleCsrf(spec)) expectThat(anon.status === 403 || anon.status === 400, `${label} anonymous without the console header got ${anon.status}, want 403 (or 400 for the empty body)`);
      else if (spec.access.kind === 'public') expectThat(anon.status !== 401 && anon.status !== 403, `${label} anonymous got ${anon.status}`);
      else expectThat(anon.status === 401, `${label} anonymous got ${anon.status}, want 401`);

      if (spec.access.kind === 'permission') {
        // A plain user on another user's resource: 404 where ownership applies, else 403.
        const asUser = await send(spec, path, alice.accessToken);
        const want = spec.access.ownerParam ? 404 : 403;
        expectThat(asUser.status === want, `${label} user got ${asUser.status}, want ${want}`);
        if (spec.access.ownerParam) {
          // The owner itself passes the guard (fresh user: some of these routes are destructive).
          const owner = await registerUser();
          const own = await send(spec, concrete(spec, { ...ids, user: owner.user.id }), owner.accessToken);
          expectThat(![401, 403, 404].includes(own.status), `${label} owner got ${own.status}`);
        }
      } else if (spec.access.kind === 'authenticated') {
        // Logout ends the caller's session: use a throwaway user so the others keep theirs.
        const isLogout = spec.method === 'post' && apiPath(spec) === '/auth/logout';
        const asUser = await send(spec, path, isLogout ? (await registerUser()).accessToken : alice.accessToken);
        expectThat(asUser.status !== 401 && asUser.status !== 403, `${label} user got ${asUser.status}`);
      }

      if (spec.access.kind !== 'public' && !(spec.method === 'post' && apiPath(spec) === '/auth/logout')) {
        const asAdmin = await send(spec, path, admin.accessToken);
        expectThat(asAdmin.status !== 401 && asAdmin.status !== 403, `${label} admin got ${asAdmin.status}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
