import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import '../../src/app';
import { fullPath, routeRegistry } from '../../src/lib/route';
import { BASE, json } from '../helpers/api';

type Json = Record<string, unknown>;
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Json & { operationId: string; responses: Record<string, Json>; parameters?: Json[] }>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
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
      for (const r of Object.values(op.responses)) expect(typeof r.description).toBe('string');
      if (spec.access.kind === 'public') expect(op.security).toBeUndefined();
      else expect(op.security).toEqual([{ bearerAuth: [] }]);
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

describe('GET /docs', () => {
  it('serves the Scalar page pointing at the document, with its own CSP', async () => {
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
