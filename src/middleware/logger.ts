import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import { log } from '../lib/log';
import { recordRequestMetric } from '../lib/observability';
import type { AppEnv } from '../lib/factory';

/**
 * One JSON line per request: method, route pattern (never the raw URL, which may carry
 * tokens in a query), status, duration, request id and user id.
 * @example app.use(requestLogger())
 */
export const requestLogger = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const start = performance.now();
    await next();
    const durationMs = Math.round((performance.now() - start) * 100) / 100;
    const route = routePath(c);
    recordRequestMetric(c.env, { route, method: c.req.method, status: c.res.status, durationMs });
    log(c.res.status >= 500 ? 'error' : 'info', 'request', {
      method: c.req.method,
      route,
      status: c.res.status,
      durationMs,
      requestId: c.var.requestId,
      userId: c.var.auth?.userId,
    });
  });
