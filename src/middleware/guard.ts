import { createMiddleware } from 'hono/factory';
import { audit } from '../lib/audit';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { apiPath, type RouteSpec } from '../lib/route';
import { resolveApiKey } from './api-key-auth';
import { assertAuthFailureBudget, recordAuthFailure } from './auth-failures';
import { resolveAuth } from './auth';
import { foldedStandardTier, rateLimit } from './rate-limit';

/**
 * The route guard built from a route's spec: authentication (credentials from an IP that spent
 * its auth-failure budget are refused with 429 before any lookup, and each failure spends it:
 * see auth-failures.ts), then the one permission check,
 * then ownership, then the route's rate-limit tier. Default deny: a spec without an access
 * rule does not type-check, and a route without a spec fails the authorization-matrix test.
 * Callers without the permission get 403, except on routes about one user (`ownerParam`),
 * where they get 404: another user's existence is not disclosed.
 * Routes use it through `endpoint(spec)`, which adds the declared validators.
 * @example router.get(spec.path, guard(spec), handler)
 */
export const guard = (spec: RouteSpec) => {
  const limiter = rateLimit(spec);
  return createMiddleware<AppEnv>(async (c, next) => {
    const access = spec.access;
    if (access.kind !== 'public') {
      const apiKey = c.req.header('X-API-Key');
      // An IP that spent its failure budget is refused before any lookup (see auth-failures.ts).
      if (apiKey !== undefined || c.req.header('Authorization') !== undefined) assertAuthFailureBudget(c);
      // API keys are for service calls on permission routes; self-service routes (logout,
      // sessions, password) need a user's session, and a key never acts as an "owner".
      if (apiKey !== undefined && access.kind !== 'permission') {
        throw new AppError(401, 'UNAUTHENTICATED', { message: 'This route needs a user session, not an API key', headers: { 'WWW-Authenticate': 'Bearer' } });
      }
      let auth;
      try {
        auth = apiKey !== undefined ? await resolveApiKey(c, apiKey) : await resolveAuth(c, { limit: foldedStandardTier(c, spec) });
      } catch (err) {
        if (err instanceof AppError && err.status === 401) await recordAuthFailure(c, apiKey !== undefined ? 'apikey' : 'bearer', err);
        throw err;
      }
      c.set('auth', auth);
      if (access.kind === 'permission' && !auth.permissions.has(access.permission)) {
        const owner = access.ownerParam && !auth.apiKeyId ? c.req.param(access.ownerParam) : undefined;
        if (owner === undefined || owner !== auth.userId) {
          audit(c, { action: 'authz.denied', outcome: 'failure', targetId: owner ?? null, details: { route: `${spec.method.toUpperCase()} ${apiPath(spec)}`, permission: access.permission } });
          throw access.ownerParam && !auth.apiKeyId ? new AppError(404, 'NOT_FOUND') : new AppError(403, 'FORBIDDEN');
        }
      }
    }
    await limiter(c, next);
    // Every ceiling refusal (roles, grants, edits of a more privileged user) is a security event.
    if (c.error instanceof AppError && c.error.code === 'PERMISSION_CEILING') {
      audit(c, { action: 'authz.ceiling', outcome: 'failure', level: 'warn', targetId: c.req.param('id') ?? null, details: { route: `${spec.method.toUpperCase()} ${apiPath(spec)}` } });
    }
  });
};
