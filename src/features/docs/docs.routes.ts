import { Scalar } from '@scalar/hono-api-reference';
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

/** `/docs` sits outside /api/v1 (an HTML page, not an API route). */
export const docsPage = factory.createApp().get(
  docsPageRoute.path,
  guard(docsPageRoute),
  async (c, next) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    await next();
  },
  Scalar({ url: '/api/v1/openapi.json', pageTitle: 'app-ubr API' }),
);
