import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { getKeyRing, InvalidTokenError, verifyAccessToken } from '../security/jwt';
import { callerPermissions, findSessionCaller, type CallerRow } from '../features/auth/caller.repository';
import type { UserRow } from '../features/users/users.service';

export interface AuthContext {
  userId: string;
  userInternalId: number;
  sessionId: string;
  sessionInternalId: number;
  email: string;
  roles: string[];
  permissions: Set<string>;
  /** The caller's user row, read in the same query (GET /users/me needs nothing more from AUTH_DB). */
  user: UserRow;
  /** Set when the caller authenticated with an API key (service call) instead of a session. */
  apiKeyId?: string;
}

export interface AuthVariables {
  auth?: AuthContext;
  /** What the route's spec asked to read alongside the session check (see RouteSpec.prefetch). */
  prefetched?: Promise<unknown>;
}

export { CALLER_COLUMNS, type CallerRow } from '../features/auth/caller.repository';

/** Builds the request's AuthContext from a caller row and how it authenticated. */
export function callerContext(
  row: CallerRow,
  via: { sessionId: string; sessionInternalId: number; apiKeyId?: string; permissions?: (own: Set<string>) => Set<string> },
): AuthContext {
  const { roles, permissions: own } = callerPermissions(row);
  return {
    userId: row.public_id,
    userInternalId: row.uid,
    sessionId: via.sessionId,
    sessionInternalId: via.sessionInternalId,
    email: row.email,
    roles,
    permissions: via.permissions ? via.permissions(own) : own,
    ...(via.apiKeyId ? { apiKeyId: via.apiKeyId } : {}),
    user: {
      publicId: row.public_id,
      email: row.email,
      emailVerifiedAt: row.email_verified_at === null ? null : new Date(row.email_verified_at),
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
      deletedAt: null,
      roleNames: row.role_names,
    },
  };
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme name is case-insensitive
// (RFC 9110 §11.1). Only a three-part compact JWS is accepted as the token.
const BEARER = /^bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

function bearerToken(header: string | undefined): string {
  // RFC 9110 §11.6.1: every 401 names the scheme it expects.
  if (!header) throw new AppError(401, 'UNAUTHENTICATED', { headers: { 'WWW-Authenticate': 'Bearer' } });
  const m = BEARER.exec(header);
  if (!m) throw new AppError(401, 'INVALID_TOKEN', { reason: 'not a Bearer JWT', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  return m[1]!;
}

/** Verifies the Bearer access token and the live session behind it. Throws 401 on any doubt. */
/**
 * @param onVerified called with the token's subject once the signature and claims check out,
 *   before the session query: a route can start reading its own data in parallel (the result
 *   is only used after the session check passed).
 */
export async function resolveAuth(c: Context<AppEnv>, onVerified?: (userId: string) => void): Promise<AuthContext> {
  const token = bearerToken(c.req.header('Authorization'));
  const config = getConfig(c.env);
  const ring = await getKeyRing(c.env.JWT_SIGNING_KEYS);
  let claims;
  try {
    claims = await verifyAccessToken(ring, { issuer: config.jwtIssuer, audience: config.jwtAudience }, token);
  } catch (err) {
    if (err instanceof InvalidTokenError) {
      throw new AppError(401, 'INVALID_TOKEN', { reason: err.message, cause: err, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    }
    throw err;
  }
  onVerified?.(claims.sub);
  const row = await findSessionCaller(c.env.AUTH_DB, claims.sid, claims.sub, Date.now());
  if (!row) throw new AppError(401, 'INVALID_TOKEN', { reason: 'session ended or user deleted', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  return callerContext(row, { sessionId: claims.sid, sessionInternalId: row.sid });
}

/**
 * Requires a valid access token and a live session; sets `c.var.auth`.
 * @example router.get('/users/me', requireAuth(), (c) => c.json(c.var.auth))
 */
export const requireAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('auth', await resolveAuth(c));
    await next();
  });
