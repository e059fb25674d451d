import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import '../../src/app';
import { ErrorResponse } from '../../src/features/docs/common.schemas';
import { openApiDocument } from '../../src/features/docs/openapi';
import { ERROR_CODES } from '../../src/lib/errors';
import { apiPath, fullPath, isApiRoute, routeRegistry } from '../../src/lib/route';
import { BASE, json } from '../helpers/api';

type Json = Record<string, unknown>;
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Json & { operationId: string; responses: Record<string, Json>; parameters?: Json[] }>>;
  servers?: Json[];
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json>; responses?: Record<string, Json> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

async function fetchDoc(): Promise<{ res: Response; doc: Doc }> {
  const res = await exports.default.fetch(`${BASE}/api/v1/openapi.json`);
  return { res, doc: await json<Doc>(res.clone()) };
}

/** Every `$ref` in the document, to check that each one resolves. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('GET /api/v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    const { res, doc } = await fetchDoc();
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(doc.servers?.length).toBeGreaterThan(0);
  });

  it('gives every operation a summary and a success response (101 for the WebSocket upgrade, 302 for the OAuth consent form and the social sign-in redirects, 303 for the form_post callback)', async () => {
    const { doc } = await fetchDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(String(op.summary ?? '').length, `${method} ${path}`).toBeGreaterThan(0);
        const statuses = Object.keys(op.responses);
        const upgrade = statuses.includes('101');
        // A form post answered by a redirect back to the OAuth client (RFC 6749 §4.1.2).
        const formRedirect = path === '/oauth/authorize' && method === 'post' && statuses.includes('302');
        // Social sign-in start and callback answer with a redirect (to the provider, to redirectTo);
        // the form_post callback (Apple) with a 303.
        const socialRedirect =
          path.startsWith('/api/v1/auth/oauth/') && ((method === 'get' && statuses.includes('302')) || (method === 'post' && path.endsWith('/callback') && statuses.includes('303')));
        expect(upgrade || formRedirect || socialRedirect || statuses.some((s) => s.startsWith('2')), `${method} ${path} has no 2xx`).toBe(true);
      }
    }
  });

  it('has no two paths that one concrete URL could match (a parameter pattern must rule the literal out)', async () => {
    // The guard behind redocly's no-ambiguous-paths, which redocly.yaml turns off for UUID ids.
    const { doc } = await fetchDoc();
    const isParam = (s: string) => /^\{.+\}$/.test(s);
    const patternOf = (path: string, segment: string): RegExp | null => {
      const p = Object.values(doc.paths[path]!)
        .flatMap((op) => op.parameters ?? [])
        .find((x) => x.in === 'path' && `{${String(x.name)}}` === segment) as { schema?: { pattern?: string } } | undefined;
      return p?.schema?.pattern ? new RegExp(p.schema.pattern) : null;
    };
    const paths = Object.keys(doc.paths);
    const overlaps: string[] = [];
    for (const [i, a] of paths.entries()) {
      for (const b of paths.slice(i + 1)) {
        const sa = a.split('/');
        const sb = b.split('/');
        if (sa.length !== sb.length) continue;
        if (sa.some((x, k) => !isParam(x) && !isParam(sb[k]!) && x !== sb[k])) continue;
        const crossings = sa.flatMap((x, k) => (isParam(x) !== isParam(sb[k]!) ? [isParam(x) ? { path: a, param: x, literal: sb[k]! } : { path: b, param: sb[k]!, literal: x }] : []));
        // Ambiguous only when each path has a literal where the other has a parameter.
        if (!(crossings.some((c) => c.path === a) && crossings.some((c) => c.path === b))) continue;
        if (!crossings.some((c) => patternOf(c.path, c.param)?.test(c.literal) === false)) overlaps.push(`${a} ~ ${b}`);
      }
    }
    expect(overlaps).toEqual([]);
  });

  it("documents the error codes of every error response, derived from the route's guard and middleware", async () => {
    const { doc } = await fetchDoc();
    const known = Object.keys(ERROR_CODES);
    const resolve = (r: Json): Json => (typeof r.$ref === 'string' ? (doc.components.responses![r.$ref.split('/').pop()!] as Json) : r);
    const codesOf = (r: Json): string[] => {
      const schema = (resolve(r).content as { 'application/json': { schema: { allOf: [Json, { properties: { error: { properties: { code: { enum: string[] } } } } }] } } })['application/json'].schema;
      expect(schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Error' });
      return schema.allOf[1].properties.error.properties.code.enum;
    };
    for (const spec of routeRegistry) {
      const label = `${spec.method} ${apiPath(spec)}`;
      const op = doc.paths[openApiPath(fullPath(spec))]![spec.method]!;
      const codes = (status: number) => codesOf(op.responses[String(status)]!);
      for (const [status, r] of Object.entries(op.responses)) {
        if (Number(status) < 400 || (spec.responses[Number(status)]?.schema && spec.responses[Number(status)]!.schema !== ErrorResponse)) continue;
        const listed = codesOf(r);
        expect(listed.length, `${label} ${status}`).toBeGreaterThan(0);
        for (const code of listed) expect(known, `${label} ${status}`).toContain(code);
        const own = spec.responses[Number(status)];
        // Codes the route declares, and codes its description names, are all in the enum.
        const named = (own?.description.match(/\b[A-Z]+(?:_[A-Z]+)+\b/g) ?? []).filter((w) => known.includes(w));
        for (const code of [...(own?.codes ?? []), ...named]) expect(listed, `${label} ${status}`).toContain(code);
      }
      expect(codes(500)).toEqual(['INTERNAL_ERROR']);
      if (spec.access.kind !== 'public') expect(codes(401), label).toEqual(expect.arrayContaining(['UNAUTHENTICATED', 'INVALID_TOKEN']));
      if (spec.access.kind === 'permission') expect(codes(403), label).toContain('FORBIDDEN');
      if ((spec.rateLimit ?? 'standard') !== 'none') expect(codes(429), label).toEqual(['RATE_LIMITED']);
      if (spec.request?.body) expect(codes(400), label).toContain('VALIDATION_ERROR');
      if (isApiRoute(spec) && !['/client-versions', '/health'].includes(apiPath(spec))) expect(codes(426), label).toEqual(['UPGRADE_REQUIRED']);
    }
    const ops = doc.paths;
    expect(codesOf(ops['/api/v1/auth/login']!.post!.responses['401']!)).toEqual(['INVALID_CREDENTIALS', 'MFA_REQUIRED', 'INVALID_MFA_CODE']);
    expect(codesOf(ops['/api/v1/auth/register']!.post!.responses['409']!).sort()).toEqual(['EMAIL_TAKEN', 'IDEMPOTENCY_IN_FLIGHT']);
    expect(codesOf(ops['/api/v1/roles/{id}']!.put!.responses['403']!).sort()).toEqual(['FORBIDDEN', 'PERMISSION_CEILING']);
    expect(codesOf(ops['/api/v1/auth/login']!.post!.responses['503']!)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(resolve(ops['/api/v1/auth/login']!.post!.responses['429']!).headers).toHaveProperty('Retry-After');
  });

  it('lists every route of the registry, and nothing else', async () => {
    const { doc } = await fetchDoc();
    expect(routeRegistry.length).toBeGreaterThan(0);
    const expected = routeRegistry.map((s) => `${s.method} ${openApiPath(fullPath(s))}`).sort();
    const listed = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${path}`))
      .sort();
    expect(listed).toEqual(expected);
    for (const route of ['post /api/v1/auth/register', 'post /api/v1/auth/login', 'post /api/v1/auth/refresh', 'post /api/v1/auth/logout', 'get /api/v1/users/me', 'get /.well-known/jwks.json', 'get /api/v1/health']) {
      expect(listed).toContain(route);
    }
  });

  it('gives every operation a unique operationId, responses and the declared security', async () => {
    const { doc } = await fetchDoc();
    const ids = new Set<string>();
    for (const spec of routeRegistry) {
      const op = doc.paths[openApiPath(fullPath(spec))]![spec.method]!;
      expect(op.operationId).toMatch(/^[A-Za-z0-9]+$/);
      expect(ids.has(op.operationId), op.operationId).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      for (const status of Object.keys(op.responses)) expect(status).toMatch(/^[1-5]\d\d$/);
      for (const r of Object.values(op.responses)) {
        const shared = typeof r.$ref === 'string' ? doc.components.responses?.[r.$ref.replace('#/components/responses/', '')] : r;
        expect(typeof shared?.description).toBe('string');
      }
      // API keys only where a permission is checked: the guard refuses them on self-service routes.
      const security = { public: [], authenticated: [{ bearerAuth: [] }], permission: [{ bearerAuth: [] }, { apiKey: [] }] }[spec.access.kind];
      expect(op.security, `${spec.method} ${apiPath(spec)}`).toEqual(security);
      if (spec.request?.body) expect(op.requestBody).toMatchObject({ required: true, content: { 'application/json': { schema: expect.any(Object) } } });
    }
  });

  it('declares every path parameter', async () => {
    const { doc } = await fetchDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) {
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort(), path).toEqual(names.sort());
        for (const p of op.parameters ?? []) if (p.in === 'path') expect(p.required).toBe(true);
      }
    }
  });

  it('resolves every $ref inside the document', async () => {
    const { doc } = await fetchDoc();
    for (const ref of refs(doc)) {
      expect(ref).toMatch(/^#\//);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, key) => (node as Json | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
      expect(target, ref).toBeDefined();
    }
  });

  it('describes request bodies from the same zod schemas that validate them', async () => {
    const { doc } = await fetchDoc();
    const schema = doc.paths['/api/v1/auth/register']!.post!.requestBody as { content: { 'application/json': { schema: Json & { properties: Record<string, Json>; required: string[] } } } };
    const s = schema.content['application/json'].schema;
    expect(s.required.sort()).toEqual(['email', 'password']);
    expect(s.properties.password).toMatchObject({ type: 'string', minLength: 8, maxLength: 128 });
    expect(s.additionalProperties).toBe(false);
  });
});

describe('the served document is the one the registry produces (built at build time, served from ASSETS)', () => {
  it('equals openApiDocument() of the code under test, key for key', async () => {
    const { res, doc } = await fetchDoc();
    expect(res.status).toBe(200);
    // The generator runs here, in workerd, from the same route registry; the Worker itself only
    // serves public/internal/openapi.json (scripts/build-openapi.mjs). A stale build fails here.
    const expected = structuredClone(openApiDocument(env.APP_VERSION));
    expect(JSON.stringify(doc), 'stale public/internal/openapi.json: run node scripts/build-openapi.mjs').toBe(JSON.stringify(expected));
    expect(doc.info.version).toBe(env.APP_VERSION);
  });

  it('is not served to the public as a static file: /internal/* reaches the Worker, which answers 404', async () => {
    expect((await exports.default.fetch(`${BASE}/internal/openapi.json`)).status).toBe(404);
  });
});

describe('GET /docs', () => {
  it('serves the API reference page pointing at the document, with its own CSP', async () => {
    const res = await exports.default.fetch(`${BASE}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/api/v1/openapi.json');
    const csp = res.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('script-src');
    expect(csp).not.toContain("default-src *");
    expect(res.headers.get('X-Frame-Options')).toBe('DENY');
  });
});
