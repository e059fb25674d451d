import * as z from 'zod/mini';
import { getConfig } from '../../lib/config';
import { factory } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { guard } from '../../middleware/guard';
import { openApiDocument } from './openapi';

const openApiRoute = defineRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This document (OpenAPI 3.1)',
  tags: ['ops'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: { 200: { description: 'OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
});

// The docs page loads Scalar from its CDN, so it gets its own, wider CSP than the API.
const DOCS_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com; font-src https://fonts.scalar.com https://cdn.jsdelivr.net; img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

export const docsRoutes = factory
  .createApp()
  .get(openApiRoute.path, guard(openApiRoute), (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(openApiDocument(getConfig(c.env).version));
  });

const docsPageRoute = defineRoute({
  method: 'get',
  path: '/docs',
  absolute: true,
  summary: 'Interactive API reference (Scalar), an HTML page',
  tags: ['ops'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: { 200: { description: 'HTML page' } },
});

// Scalar's standalone build from its CDN (what @scalar/hono-api-reference renders), written out
// here so the Worker bundle does not carry the middleware: ~1.5 KiB gzip for one static page.
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>app-ubr API</title>
</head>
<body>
<div id="app"></div>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
<script>Scalar.createApiReference('#app', { url: '/api/v1/openapi.json' })</script>
</body>
</html>`;

/** `/docs` sits outside /api/v1 (an HTML page, not an API route). */
export const docsPage = factory.createApp().get(docsPageRoute.path, guard(docsPageRoute), (c) => {
  c.header('Content-Security-Policy', DOCS_CSP);
  c.header('Cache-Control', 'public, max-age=300');
  return c.html(DOCS_HTML);
});
