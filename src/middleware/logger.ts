import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import { afterResponse } from '../lib/after-response';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { type RequestMetric, writeRequestMetric } from '../lib/metrics';

const afterThisTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * One JSON line per request: method, route pattern (never the raw URL, which may carry
 * tokens in a query), status, duration, request id and user id. With METRICS bound, one
 * Analytics Engine data point too, written after the response (src/lib/metrics.ts).
 * @example app.use(requestLogger())
 */
export const requestLogger = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const start = performance.now();
    await next();
    const durationMs = Math.round((performance.now() - start) * 100) / 100;
    const route = routePath(c);
    const dataset = c.env.METRICS as AnalyticsEngineDataset | undefined;
    if (dataset) {
      const cf = c.req.raw.cf as { colo?: unknown; country?: unknown } | undefined;
      const metric: RequestMetric = {
        route,
        method: c.req.method,
        status: c.res.status,
        durationMs,
        colo: typeof cf?.colo === 'string' ? cf.colo : undefined,
        country: typeof cf?.country === 'string' ? cf.country : undefined,
        versionId: (c.env.CF_VERSION_METADATA as WorkerVersionMetadata | undefined)?.id,
      };
      // A timer, not a microtask: the write then runs once the response is on its way.
      void afterResponse(c, 'request metric', afterThisTurn().then(() => writeRequestMetric(dataset, metric)));
    }
    log(c.res.status >= 500 ? 'error' : 'info', 'request', {
      method: c.req.method,
      route,
      status: c.res.status,
      durationMs,
      requestId: c.var.requestId,
      userId: c.var.auth?.userId,
    });
  });
