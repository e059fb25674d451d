import type { MiddlewareHandler } from 'hono';
import * as z from 'zod/mini';
import { getConfig } from '../../lib/config';
import { EDGE_CACHE_CONTROL, edgeCachedJson } from '../../lib/edge-cache';
import { notFound } from '../../lib/errors';
import { factory, type AppEnv } from '../../lib/factory';
import { bindEndpoint, defineRoute, permission, PUBLIC, type RouteSpec } from '../../lib/route';
import { guard } from '../../middleware/guard';
import { ErrorResponse } from './common.schemas';

const openApiRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'This document (OpenAPI 3.1)',
  tags: ['ops'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: {
    200: { description: 'OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) },
    401: { description: 'API_DOCS is "admin" and the caller is not signed in', schema: ErrorResponse, codes: ['UNAUTHENTICATED', 'INVALID_TOKEN'] },
    403: { description: 'API_DOCS is "admin" and the caller lacks config:write', schema: ErrorResponse },
    404: { description: 'API_DOCS is "off"', schema: ErrorResponse },
  },
});

/**
 * API_DOCS="admin": the same route behind the permission of the operators who configure the API
 * (a bearer token or an API key with config:write). Not registered: one route, two guards.
 */
const openApiAdminRoute: RouteSpec = { ...openApiRoute, access: permission('config:write') };

/** API_DOCS per request: "public" → the route's own guard, "admin" → `adminSpec`'s (or 404 without one), "off" → 404. */
function docsGate(publicSpec: RouteSpec, adminSpec?: RouteSpec): MiddlewareHandler<AppEnv> {
  const asPublic = guard(publicSpec);
  const asAdmin = adminSpec && guard(adminSpec);
  const gate: MiddlewareHandler<AppEnv> = async (c, next) => {
    const mode = getConfig(c.env).apiDocs;
    if (mode === 'public') return asPublic(c, next);
    if (mode === 'admin' && asAdmin) return asAdmin(c, next);
    throw notFound();
  };
  bindEndpoint(gate, publicSpec);
  return gate;
}

/**
 * The document is built from the route registry at build time (scripts/build-openapi.mjs, by
 * src/features/docs/openapi.ts) and read here as a static asset once per isolate: the Worker ships
 * no JSON Schema generator. A missing asset is a 500, loudly, on this route only.
 */
const OPENAPI_ASSET = '/internal/openapi.json';
/** What the build writes in `info.version`; the deployment's APP_VERSION replaces it. */
const VERSION_PLACEHOLDER = '0.0.0-build';
let loaded: Promise<Record<string, unknown>> | undefined;

function openApiDocument(assets: Fetcher, version: string): Promise<Record<string, unknown>> {
  loaded ??= assets.fetch(`https://assets.invalid${OPENAPI_ASSET}`).then(async (res) => {
    if (!res.ok) throw new Error(`OpenAPI document unavailable: asset ${OPENAPI_ASSET} answered ${res.status} (run node scripts/build-openapi.mjs)`);
    const doc = (await res.json()) as { info: { version: string } } & Record<string, unknown>;
    if (doc.info.version !== VERSION_PLACEHOLDER) throw new Error(`OpenAPI document unavailable: asset ${OPENAPI_ASSET} is not a build of scripts/build-openapi.mjs`);
    doc.info.version = version;
    return doc;
  });
  loaded.catch(() => (loaded = undefined)); // a failed read is retried by the next request
  return loaded;
}

export const docsRoutes = factory.createApp().get(openApiRoute.path, docsGate(openApiRoute, openApiAdminRoute), async (c) => {
  // Cacheable by anyone only when it is public; otherwise the /api default (no-store) applies.
  // The document changes only with a deploy: its version is in the cache key.
  const { apiDocs, version } = getConfig(c.env);
  if (apiDocs === 'public') return edgeCachedJson(c, { route: openApiRoute, version, cacheControl: EDGE_CACHE_CONTROL.versioned }, () => openApiDocument(c.env.ASSETS, version));
  return c.json(await openApiDocument(c.env.ASSETS, version));
});

const docsPageRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Interactive API reference (Scalar), an HTML page',
  tags: ['ops'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: { 200: { description: 'HTML page' }, 404: { description: 'API_DOCS is "off" or "admin"', schema: ErrorResponse } },
});

/**
 * The UI is a pinned build served as a static asset (public/docs/, see its README): nothing from a
 * third-party origin, no inline script. Styles may be inline: Scalar injects its stylesheet and
 * sets element styles at runtime. Fonts are the system's (withDefaultFonts: false).
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** What the page hands to Scalar (read by public/docs/init.js): no telemetry, no remote fonts, no agent, no toolbar of Scalar's cloud services. */
const SCALAR_CONFIGURATION = {
  url: '/api/v1/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
};

const attribute = (value: unknown) => JSON.stringify(value).replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/</g, '&lt;');

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>app-ubr API</title>
</head>
<body>
<div id="app" data-configuration='${attribute(SCALAR_CONFIGURATION)}'></div>
<script src="/docs/scalar.standalone.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

/**
 * The page (mounted at `/docs`) sits outside /api/v1 (an HTML page, not an API route). Under API_DOCS="admin" it is a
 * 404 too: the page loads the document without credentials, so it could only show an error.
 */
export const docsPage = factory.createApp().get(docsPageRoute.path, docsGate(docsPageRoute), (c) => {
  c.header('Content-Security-Policy', DOCS_CSP);
  c.header('Cache-Control', 'public, max-age=300');
  return c.html(DOCS_HTML);
});
