import type * as z from 'zod/mini';
import type { ErrorCode } from './errors';
import type { Permission } from './permissions';

/**
 * Who may call a route. Default deny: every route declares one, and the authorization-matrix
 * test fails for any registered route without a spec.
 * - public: anyone.
 * - authenticated: any signed-in user (the handler only ever touches the caller's own data).
 * - permission: the permission, or, with `ownerParam`, the user whose public id is in that path
 *   parameter (ownership is checked by the guard, before the handler runs).
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'authenticated' }
  | { kind: 'permission'; permission: Permission; ownerParam?: string };

/**
 * - auth: exact and durable, per IP and per account (see src/security/rate-limit/README.md).
 * - registration: auth, but the IP dimension has its own rule and counts successes too.
 * - resend: auth per IP, plus a per-account rule for messages sent to the caller.
 */
export type RateTier = 'auth' | 'registration' | 'resend' | 'anonymous' | 'standard' | 'expensive' | 'search' | 'none';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodMiniType;
  /**
   * Error responses: the `error.code` values this route answers with at this status, beyond the
   * ones OpenAPI derives from the spec (validation, authentication, permission, rate limit).
   * Without it, the status's generic code (404 NOT_FOUND, 409 CONFLICT, 422 BUSINESS_RULE …).
   */
  codes?: ErrorCode[];
}

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /**
   * Path relative to where the feature's router is mounted in app.ts (Hono syntax, `:id`): `/`
   * and `/:id` in the roles router serve /api/v1/roles and /api/v1/roles/:id. The full path is
   * read from the mounted app (see `mountRoutes`), so it is written in one place only.
   */
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  /** Rate-limit tier; default: `standard` when signed in, `anonymous` otherwise. */
  rateLimit?: RateTier;
  /**
   * Auth tier: a 2xx gives the account slot back (a user who signs in is not an attack). Never
   * on a route that answers 2xx to everyone (e.g. "send me a reset link"): it would be unlimited.
   */
  refundOnSuccess?: boolean;
  /** Auth tier: a valid `deviceToken` in the body for this account counts on that device's budget. */
  deviceBudget?: boolean;
  /**
   * Honours an `Idempotency-Key` header (POSTs that create or send): the same key and body within
   * 24 h replay the first response; another body → 422, still running → 409. See
   * src/middleware/idempotency.ts; OpenAPI documents the header and the codes.
   */
  idempotent?: boolean;
  /**
   * Honours `If-Match` (PUT/PATCH/DELETE of a resource that has a conditional GET): the handler
   * calls `assertIfMatch` (src/lib/etag.ts) with the current representation; a stale tag → 412.
   * OpenAPI documents the header and the code.
   */
  ifMatch?: boolean;
  request?: {
    body?: z.ZodMiniType;
    /** A narrower body for callers who pass as the owner (`ownerParam`) without the permission. */
    ownerBody?: z.ZodMiniType;
    query?: z.ZodMiniType;
    params?: z.ZodMiniType;
  };
  responses: Record<number, ResponseSpec>;
}

export const API_PREFIX = '/api/v1';

/** Every route spec declared by a feature, in declaration order. */
export const routeRegistry: RouteSpec[] = [];

export function defineRoute<const S extends RouteSpec>(spec: S): S {
  routeRegistry.push(spec);
  return spec;
}

export const PUBLIC = { kind: 'public' } as const;
export const AUTHENTICATED = { kind: 'authenticated' } as const;
export const permission = <const P extends Permission>(p: P, ownerParam?: string) => ({ kind: 'permission', permission: p, ownerParam }) as const;

const specOfHandler = new WeakMap<object, RouteSpec>();
const fullPaths = new WeakMap<RouteSpec, string>();

/** Called by the endpoint middleware: lets the mounted app's route table name the spec behind a handler. */
export function bindEndpoint(handler: object, spec: RouteSpec): void {
  specOfHandler.set(handler, spec);
}

export interface MountedRoute {
  /** Full path as the root app serves it (`/api/v1/roles/:id`, `/.well-known/jwks.json`). */
  path: string;
  spec: RouteSpec;
}

let mounted: MountedRoute[] = [];

/**
 * Reads the root app's route table once it is built: each endpoint's full path is where app.ts
 * mounted its router, so OpenAPI, the 405 `Allow` list and the rate-limit keys never repeat it.
 */
export function mountRoutes(routes: readonly { method: string; path: string; handler: object }[]): void {
  const seen = new Set<RouteSpec>();
  const found: MountedRoute[] = [];
  for (const r of routes) {
    const spec = specOfHandler.get(r.handler);
    if (!spec || seen.has(spec)) continue;
    // `.get(spec.path, endpoint(spec), …)` with a spec that says another method is a startup error.
    if (r.method !== spec.method.toUpperCase()) throw new Error(`route ${r.method} ${r.path} is declared as ${spec.method}`);
    seen.add(spec);
    found.push({ path: r.path, spec });
  }
  for (const r of found) fullPaths.set(r.spec, r.path);
  mounted = found;
}

/** Every mounted endpoint with its full path, in the order app.ts mounts them. */
export function mountedRoutes(): readonly MountedRoute[] {
  return mounted;
}

/** The full path a spec is served at (its own path if it was never mounted, e.g. in a unit test). */
export function fullPath(spec: RouteSpec): string {
  return fullPaths.get(spec) ?? spec.path;
}

/** The path under /api/v1 (`/auth/login`): stable names for rate-limit keys and audit details. */
export function apiPath(spec: RouteSpec): string {
  const full = fullPath(spec);
  return full.startsWith(`${API_PREFIX}/`) ? full.slice(API_PREFIX.length) : full;
}

/** Outside /api/v1 (JWKS, the docs page): no client-version gate, no JSON body stack. */
export function isApiRoute(spec: RouteSpec): boolean {
  return fullPath(spec).startsWith(`${API_PREFIX}/`);
}

/**
 * A GET with a JSON 200 answers 304 to a matching `If-None-Match` (src/middleware/conditional.ts):
 * derived here, once, for OpenAPI and the response-contract check, instead of in every spec.
 */
export function answersNotModified(spec: RouteSpec): boolean {
  return spec.method === 'get' && spec.responses[200]?.schema !== undefined;
}
