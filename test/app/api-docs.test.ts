import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';
import { errorCode, registerAdmin } from '../helpers/users';

const DOCUMENT = '/api/v1/openapi.json';

describe('API_DOCS', () => {
  it('"public" (development and staging) serves the page and the document to anyone, cacheable', async () => {
    for (const path of ['/docs', DOCUMENT]) {
      const res = await callWithEnv({ API_DOCS: 'public' }, path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('Cache-Control'), path).toMatch(/^public, max-age=300\b/);
    }
  });

  it('"off" answers 404 NOT_FOUND for both, even to an admin', async () => {
    const admin = await registerAdmin();
    for (const path of ['/docs', DOCUMENT]) {
      for (const token of [undefined, admin.accessToken]) {
        const res = await callWithEnv({ API_DOCS: 'off' }, path, { token });
        expect(res.status, path).toBe(404);
        expect(await errorCode(res)).toBe('NOT_FOUND');
      }
    }
  });

  it('"admin" (production) gives the document only to a caller with config:write, never to a shared cache', async () => {
    const admin = await registerAdmin();
    const user = await registerUser();
    const vars = { API_DOCS: 'admin' };

    const anonymous = await callWithEnv(vars, DOCUMENT);
    expect(anonymous.status).toBe(401);
    expect(await errorCode(anonymous)).toBe('UNAUTHENTICATED');
    const plain = await callWithEnv(vars, DOCUMENT, { token: user.accessToken });
    expect(plain.status).toBe(403);
    expect(await errorCode(plain)).toBe('FORBIDDEN');

    const allowed = await callWithEnv(vars, DOCUMENT, { token: admin.accessToken });
    expect(allowed.status).toBe(200);
    expect((await json<{ openapi: string }>(allowed)).openapi).toMatch(/^3\.1\./);
    expect(allowed.headers.get('Cache-Control')).toBe('no-store');

    // A service with a key scoped to config:write reads it too; a key without it does not.
    const createKey = (permissions: string[]) => call('/api/v1/api-keys', { token: admin.accessToken, body: { name: `docs-${permissions.length}`, permissions }, ip: freshIp() });
    const scoped = await json<{ key: string }>(await createKey(['config:write']));
    expect((await callWithEnv(vars, DOCUMENT, { headers: { 'X-API-Key': scoped.key } })).status).toBe(200);
    const unscoped = await json<{ key: string }>(await createKey(['users:read']));
    expect((await callWithEnv(vars, DOCUMENT, { headers: { 'X-API-Key': unscoped.key } })).status).toBe(403);

    // The page would load the document without credentials: under "admin" it does not exist.
    const page = await callWithEnv(vars, '/docs', { token: admin.accessToken });
    expect(page.status).toBe(404);
  });

  it('falls back to "admin" outside development when the value is missing or misspelt', async () => {
    expect((await callWithEnv({ APP_ENV: 'production', API_DOCS: 'yes' }, DOCUMENT)).status).toBe(401);
    expect((await callWithEnv({ APP_ENV: 'staging', API_DOCS: '' }, '/docs')).status).toBe(404);
    expect((await callWithEnv({ APP_ENV: 'development', API_DOCS: 'PUBLIC ' }, DOCUMENT)).status).toBe(200);
  });
});

describe('/docs works offline', () => {
  it('loads only same-origin scripts, with no inline script and nothing from another origin', async () => {
    const res = await call('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<style|<link/i);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.map((m) => /\bsrc="([^"]+)"/.exec(m[1]!)?.[1])).toEqual(['/docs/scalar.standalone.js', '/docs/init.js']);
    for (const m of scripts) expect(m[2]!.trim()).toBe('');
  });

  it('has a CSP that allows scripts from itself only and names no other origin', async () => {
    const csp = (await call('/docs')).headers.get('Content-Security-Policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...sources]) => [name!, sources]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    for (const [name, sources] of directives) {
      for (const source of sources) {
        // Keywords in quotes and data: only: no scheme (https:), host, wildcard or blob:.
        expect(/^'[a-z-]+'$/.test(source) || source === 'data:', `${name} ${source}`).toBe(true);
      }
    }
    expect(csp).not.toContain("'unsafe-eval'");
  });

  it('serves the pinned UI as static assets, not from the Worker', async () => {
    // Without the assets router in front (as in tests), the Worker has no such route.
    expect((await call('/docs/scalar.standalone.js')).headers.get('Content-Type')).toMatch(/^application\/json/);
    const bundle = await env.ASSETS.fetch('http://assets.local/docs/scalar.standalone.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('Content-Type')).toMatch(/javascript/);
    const text = await bundle.text();
    expect(text).toContain('@scalar/api-reference');
    expect(text).not.toMatch(/\bimport\s*\(\s*["'`]https?:/);
    const init = await env.ASSETS.fetch('http://assets.local/docs/init.js');
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('createApiReference');
  });
});
