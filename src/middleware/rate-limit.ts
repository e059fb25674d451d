import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../lib/factory';
import type { RouteSpec } from '../lib/route';

/** Rate limiting per route tier (placeholder until the limiter lands; see issue 5). */
export const rateLimit = (_spec: RouteSpec): MiddlewareHandler<AppEnv> => async (_c, next) => {
  await next();
};
