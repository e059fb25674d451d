import * as z from 'zod/mini';
import { fullPath, routeRegistry, type RouteSpec } from '../../lib/route';

type Json = Record<string, unknown>;

function schemaOf(schema: z.ZodMiniType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', spec.request?.params],
    ['query', spec.request?.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, s] of Object.entries(json.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s });
    }
  }
  return out;
}

function operation(spec: RouteSpec): Json {
  const op: Json = {
    summary: spec.summary,
    tags: spec.tags,
    operationId: `${spec.method}${spec.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
    'x-access': spec.access,
    'x-rate-limit-tier': spec.rateLimit ?? (spec.access.kind === 'public' ? 'anonymous' : 'standard'),
  };
  if (spec.access.kind !== 'public') op.security = [{ bearerAuth: [] }];
  const params = parameters(spec);
  if (params.length > 0) op.parameters = params;
  if (spec.request?.body) {
    op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(spec.request.body, 'input') } } };
  }
  const responses: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = r.schema ? { description: r.description, content: { 'application/json': { schema: schemaOf(r.schema, 'output') } } } : { description: r.description };
  }
  const common: Record<string, string> = { '400': 'VALIDATION_ERROR', '429': 'RATE_LIMITED (with Retry-After)', '500': 'INTERNAL_ERROR' };
  if (spec.access.kind !== 'public') common['401'] = 'UNAUTHENTICATED / INVALID_TOKEN';
  if (spec.access.kind === 'permission') common['403'] = 'FORBIDDEN';
  if (spec.request?.body) Object.assign(common, { '413': 'PAYLOAD_TOO_LARGE', '415': 'UNSUPPORTED_MEDIA_TYPE' });
  for (const [status, description] of Object.entries(common)) {
    responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  op.responses = responses;
  return op;
}

let cached: Json | undefined;

/** OpenAPI 3.1 generated from the same zod schemas that validate each route. */
export function openApiDocument(version: string): Json {
  if (cached) return cached;
  const paths: Record<string, Json> = {};
  for (const spec of routeRegistry) {
    const path = fullPath(spec).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[spec.method] = operation(spec);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'app-ubr API',
      version,
      description: 'Accounts, authentication, authorization, audit and notifications at the edge. Errors always use the `Error` envelope.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
                requestId: { type: 'string' },
              },
            },
          },
        },
      },
    },
  };
  return cached;
}
