import * as z from 'zod/mini';
import { ERROR_CODES, type ErrorCode } from '../../lib/errors';
import { answersNotModified, apiPath, fullPath, isApiRoute, mountedRoutes, type RouteSpec } from '../../lib/route';
import { EXEMPT as CLIENT_VERSION_EXEMPT } from '../../middleware/client-version';
import { ErrorResponse } from './common.schemas';

type Json = Record<string, unknown>;

/** The code an error status carries when the route names none (the same map as app.onError). */
const DEFAULT_CODE: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'BUSINESS_RULE',
  426: 'UPGRADE_REQUIRED',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** API keys are for service calls on permission routes; the guard refuses them anywhere else. */
const SECURITY: Record<RouteSpec['access']['kind'], Json[]> = {
  public: [],
  authenticated: [{ bearerAuth: [] }],
  permission: [{ bearerAuth: [] }, { apiKey: [] }],
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } } };

/**
 * `z.record(z.enum([...]), v)` becomes `propertyNames` + `required` without `properties`, which
 * linters read as required properties that are never defined: spell the keys out instead.
 */
function spellOutEnumRecords(node: unknown): void {
  if (Array.isArray(node)) {
    for (const v of node) spellOutEnumRecords(v);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  const keys = (o.propertyNames as { enum?: unknown[] } | undefined)?.enum;
  if (!o.properties && Array.isArray(keys) && keys.every((k) => typeof k === 'string') && o.additionalProperties && typeof o.additionalProperties === 'object') {
    o.properties = Object.fromEntries(keys.map((k) => [k, o.additionalProperties]));
    o.additionalProperties = false;
    delete o.propertyNames;
  }
  for (const v of Object.values(o)) spellOutEnumRecords(v);
}

function schemaOf(schema: z.ZodMiniType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  spellOutEnumRecords(rest);
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
  if (answersNotModified(spec)) out.push({ $ref: '#/components/parameters/IfNoneMatch' });
  if (spec.ifMatch) out.push({ $ref: '#/components/parameters/IfMatch' });
  if (isApiRoute(spec)) out.push({ $ref: '#/components/parameters/D1Bookmark' });
  if (spec.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Makes a retry safe: the same key and body within 24 h return the first response (status, body) with `Idempotent-Replayed: true`; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED, while the first is still running 409 IDEMPOTENCY_IN_FLIGHT. Scoped to the caller.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
    });
  }
  return out;
}

/**
 * The codes every route answers with because of the middleware in front of its handler, by
 * status: the /api/* stack (client-version gate, JSON body limits), the guard (authentication,
 * permission, ownership), the rate limiter (429; the auth tier fails closed with a 503) and
 * app.onError (transient storage → 503, anything else → 500).
 */
function derivedErrorCodes(spec: RouteSpec): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  const add = (status: number, ...codes: ErrorCode[]) => out.set(status, [...(out.get(status) ?? []), ...codes]);
  const api = isApiRoute(spec);
  const tier = spec.rateLimit ?? (spec.access.kind === 'public' ? 'anonymous' : 'standard');
  // Malformed X-Client-* headers are a 400 on every /api route, whatever its own input.
  if (api || spec.request?.body || spec.request?.query || spec.request?.params) add(400, 'VALIDATION_ERROR');
  if (spec.access.kind !== 'public') add(401, 'UNAUTHENTICATED', 'INVALID_TOKEN');
  if (spec.access.kind === 'permission') {
    add(403, 'FORBIDDEN');
    // A user who is neither the owner nor allowed learns nothing about the resource.
    if (spec.access.ownerParam) add(404, 'NOT_FOUND');
  }
  if (spec.request?.body) {
    add(413, 'PAYLOAD_TOO_LARGE');
    add(415, 'UNSUPPORTED_MEDIA_TYPE');
  }
  if (spec.idempotent) {
    add(409, 'IDEMPOTENCY_IN_FLIGHT');
    add(422, 'IDEMPOTENCY_KEY_REUSED');
  }
  if (spec.ifMatch) add(412, 'PRECONDITION_FAILED');
  if (api && !CLIENT_VERSION_EXEMPT.has(fullPath(spec))) add(426, 'UPGRADE_REQUIRED');
  if (tier !== 'none') add(429, 'RATE_LIMITED');
  // /api routes read storage before the handler (client-version policy); limited routes call the limiter.
  if (api || tier !== 'none') add(503, 'SERVICE_UNAVAILABLE');
  add(500, 'INTERNAL_ERROR');
  return out;
}

function errorResponse(description: string, codes: ErrorCode[], status: number): Json {
  const schema = {
    allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } } }],
  };
  return { description, ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}), content: { 'application/json': { schema } } };
}

const pascal = (code: string) => code.toLowerCase().replace(/(^|_)([a-z])/g, (_, _sep: string, ch: string) => ch.toUpperCase());

interface ErrorResponseDoc {
  description: string;
  codes: ErrorCode[];
  /** Derived only (no words of the route's own): one shared `components.responses` entry. */
  shared: boolean;
}

/** Every error response of an operation, with the `error.code` values it can carry. */
function errorResponses(spec: RouteSpec): Map<number, ErrorResponseDoc | null> {
  const out = new Map<number, ErrorResponseDoc | null>();
  const derived = derivedErrorCodes(spec);
  for (const [key, r] of Object.entries(spec.responses)) {
    const status = Number(key);
    if (status < 400) continue;
    // A route's own body for an error status (health's 503 report) is not the error envelope.
    if (r.schema && r.schema !== ErrorResponse) {
      out.set(status, null);
      continue;
    }
    const fallback = DEFAULT_CODE[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR');
    out.set(status, { description: r.description, codes: [...new Set([...(derived.get(status) ?? []), ...(r.codes ?? [fallback])])], shared: false });
  }
  for (const [status, codes] of derived) {
    if (!out.has(status)) out.set(status, { description: codes.map((c) => `${c}: ${ERROR_CODES[c]}`).join('; '), codes: [...new Set(codes)], shared: true });
  }
  return out;
}

/** Headers of a success response: the bookmark on every /api route, the ETag on a conditional GET's 200. */
function successHeaders(spec: RouteSpec, status: number): Json {
  const headers: Json = {};
  if (status === 200 && answersNotModified(spec)) headers.ETag = { $ref: '#/components/headers/ETag' };
  if (isApiRoute(spec)) headers['X-D1-Bookmark'] = { $ref: '#/components/headers/D1Bookmark' };
  return headers;
}

function operationId(spec: RouteSpec): string {
  return `${spec.method}${apiPath(spec).replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`;
}

function operation(spec: RouteSpec, shared: Json): Json {
  const op: Json = {
    summary: spec.summary,
    tags: spec.tags,
    operationId: operationId(spec),
    security: SECURITY[spec.access.kind],
    'x-access': spec.access,
    'x-rate-limit-tier': spec.rateLimit ?? (spec.access.kind === 'public' ? 'anonymous' : 'standard'),
  };
  const params = parameters(spec);
  if (params.length > 0) op.parameters = params;
  const { body, ownerBody } = spec.request ?? {};
  if (body) {
    // An owner-narrowed body is documented as either form (the wider one first).
    const documented = ownerBody ? z.union([body, ownerBody]) : body;
    op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(documented, 'input') } } };
  }
  const responses: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = r.schema ? { description: r.description, content: { 'application/json': { schema: schemaOf(r.schema, 'output') } } } : { description: r.description };
    if (Number(status) < 300) (responses[status] as Json).headers = successHeaders(spec, Number(status));
  }
  if (answersNotModified(spec)) responses['304'] = { $ref: '#/components/responses/NotModified' };
  for (const [status, error] of errorResponses(spec)) {
    if (!error) continue;
    if (!error.shared) {
      responses[status] = errorResponse(error.description, error.codes, status);
      continue;
    }
    // The same few (500, 503, 429, 401 …) on nearly every operation: written once, referenced.
    const name = error.codes.map(pascal).join('Or');
    shared[name] ??= errorResponse(error.description, error.codes, status);
    responses[status] = { $ref: `#/components/responses/${name}` };
  }
  op.responses = responses;
  return op;
}

const BOOKMARK_DESCRIPTION =
  'D1 read replication (Sessions API): the newest bookmark of AUTH_DB and APP_DB this request saw, as `auth:<bookmark>,app:<bookmark>`. Send it back unchanged on the next request to read at least that fresh (your own writes, from any location); a malformed value is 400 VALIDATION_ERROR.';

const EDGE_PARAMETERS: Json = {
  IfNoneMatch: {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'ETags of representations the client holds (a list, weak or strong, or `*`): when one matches, 304 with no body.',
    schema: { type: 'string' },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'Lost-update protection: the ETag of the representation you read (GET of this resource), or `*`. If it changed since, 412 PRECONDITION_FAILED and nothing is written.',
    schema: { type: 'string' },
  },
  D1Bookmark: { name: 'X-D1-Bookmark', in: 'header', required: false, description: BOOKMARK_DESCRIPTION, schema: { type: 'string', maxLength: 200 } },
};

const EDGE_HEADERS: Json = {
  ETag: { description: 'Strong entity tag of this representation (hash of the body); send it as If-None-Match', schema: { type: 'string' } },
  D1Bookmark: { description: BOOKMARK_DESCRIPTION, schema: { type: 'string' } },
};

const NOT_MODIFIED: Json = {
  description: 'Not Modified: the representation matches If-None-Match; no body, the same ETag',
  headers: { ETag: { $ref: '#/components/headers/ETag' } },
};

let cached: Json | undefined;

/** OpenAPI 3.1 generated from the same zod schemas that validate each route. */
export function openApiDocument(version: string): Json {
  if (cached) return cached;
  const paths: Record<string, Json> = {};
  const responses: Json = {};
  for (const { path: full, spec } of mountedRoutes()) {
    const path = full.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[spec.method] = operation(spec, responses);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'app-ubr API',
      version,
      description:
        'Accounts, authentication, authorization, audit and notifications at the edge. Errors always use the `Error` envelope; each error response lists the `error.code` values it can carry.',
    },
    servers: [{ url: '/', description: 'This deployment' }],
    paths,
    components: {
      responses: { ...responses, NotModified: NOT_MODIFIED },
      parameters: EDGE_PARAMETERS,
      headers: EDGE_HEADERS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login (15 min)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Service-to-service key; accepted only by routes that check a permission, refused by self-service routes' },
      },
      schemas: {
        ErrorCode: { type: 'string', enum: Object.keys(ERROR_CODES) },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { $ref: '#/components/schemas/ErrorCode' },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
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
