import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { getKeyRing, InvalidTokenError, verifyAccessToken } from '../security/jwt';
import { callerPermissions, type CallerRow } from '../features/auth/caller.repository';
import { checkCaller } from '../features/auth/user-state';
import type { WindowDecision, WindowRule } from '../security/rate-limit/sliding-log';
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
  /** The caller's profile, read with the session check (sessions only; null: no profile row). */
  profile?: { fullName: string | null } | null;
  /** The standard-tier decision, counted with the session check (see rate-limit.ts). */
  standardLimit?: WindowDecision;
}

export interface AuthVariables {
  auth?: AuthContext;
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

/**
 * Verifies the Bearer access token and the live session behind it. Throws 401 on any doubt.
 * The session check is one RPC to the user's UserState object, which answers from memory or
 * reads D1 (see src/durable-objects/user-state.ts): revocation is immediate because every
 * write that revokes goes through that object (src/features/auth/user-state.ts).
 * @param options.limit the standard tier's rule when this request is counted there too.
 */
export async function resolveAuth(c: Context<AppEnv>, options: { limit?: WindowRule } = {}): Promise<AuthContext> {
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
  const answer = await checkCaller(c.env, { userId: claims.sub, sessionId: claims.sid, ...(options.limit ? { limit: options.limit } : {}) });
  if (!answer) throw new AppError(401, 'INVALID_TOKEN', { reason: 'session ended or user deleted', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  const auth = callerContext(answer.caller, { sessionId: claims.sid, sessionInternalId: answer.caller.sid });
  auth.profile = answer.profile;
  if (answer.limit) auth.standardLimit = answer.limit;
  return auth;
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
