import type * as z from 'zod/mini';
import type { Databases } from '../db/client';
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
export type RateTier = 'auth' | 'registration' | 'resend' | 'anonymous' | 'standard' | 'expensive' | 'none';

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
  /** Path under /api/v1 (Hono syntax, `:id`), unless `absolute` (e.g. /.well-known/jwks.json, /docs). */
  path: string;
  absolute?: boolean;
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
  request?: { body?: z.ZodMiniType; query?: z.ZodMiniType; params?: z.ZodMiniType };
  /**
   * Data the handler needs about the caller, read in parallel with the session check (one
   * round trip instead of two in sequence). Only awaited after authentication succeeded.
   */
  prefetch?: (db: Databases, userId: string) => Promise<unknown>;
  responses: Record<number, ResponseSpec>;
}

export const API_PREFIX = '/api/v1';

/** Every route spec declared by a feature, in declaration order (read by OpenAPI and tests). */
export const routeRegistry: RouteSpec[] = [];

export function defineRoute<const S extends RouteSpec>(spec: S): S {
  routeRegistry.push(spec);
  return spec;
}

export const PUBLIC = { kind: 'public' } as const;
export const AUTHENTICATED = { kind: 'authenticated' } as const;
export const permission = (p: Permission, ownerParam?: string): Access => ({ kind: 'permission', permission: p, ownerParam });

export function fullPath(spec: Pick<RouteSpec, 'path' | 'absolute'>): string {
  return spec.absolute ? spec.path : `${API_PREFIX}${spec.path}`;
}
