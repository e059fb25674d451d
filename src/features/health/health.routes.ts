import * as z from 'zod/mini';
import { getConfig } from '../../lib/config';
import { factory } from '../../lib/factory';
import { log } from '../../lib/log';
import { defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { probeDatabase } from './health.service';

const Check = z.object({ status: z.enum(['ok', 'fail']), latencyMs: z.number() });
const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  environment: z.string(),
  time: z.string(),
  checks: z.record(z.string(), Check),
});

const healthRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Liveness and dependency checks (D1 ×3, KV, both Durable Objects, both queue producers)',
  tags: ['ops'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: {
    200: { description: 'Every dependency answered', schema: HealthResponse },
    503: { description: 'At least one dependency failed (names only, no internals)', schema: HealthResponse },
  },
});

async function timed(name: string, fn: () => Promise<unknown>): Promise<[string, z.infer<typeof Check>]> {
  const start = performance.now();
  try {
    await fn();
    return [name, { status: 'ok', latencyMs: Math.round((performance.now() - start) * 100) / 100 }];
  } catch (err) {
    log('error', 'health check failed', { check: name, error: String(err) });
    return [name, { status: 'fail', latencyMs: Math.round((performance.now() - start) * 100) / 100 }];
  }
}

type Checks = [string, z.infer<typeof Check>][];

/**
 * Health is public and unthrottled (load balancers probe it), so its dependency checks are
 * shared for a few seconds per isolate: a flood of probes cannot fan out into D1/KV/DO load.
 */
const CHECK_TTL_MS = 2_000;
const recent = new WeakMap<object, { at: number; checks: Promise<Checks> }>();

function checksFor(env: CloudflareBindings): Promise<Checks> {
  const now = Date.now();
  const hit = recent.get(env);
  if (hit && now - hit.at < CHECK_TTL_MS) return hit.checks;
  const checks = runChecks(env);
  recent.set(env, { at: now, checks });
  return checks;
}

function runChecks(env: CloudflareBindings): Promise<Checks> {
  return Promise.all([
    timed('authDb', () => probeDatabase(env.AUTH_DB)),
    timed('appDb', () => probeDatabase(env.APP_DB)),
    timed('logsDb', () => probeDatabase(env.LOGS_DB)),
    timed('kv', () => env.CACHE.get('health:probe')),
    timed('durableObject', async () => {
      const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('health:probe'));
      await stub.ping();
    }),
    timed('notificationHub', async () => {
      const stub = env.NOTIFICATION_HUB.get(env.NOTIFICATION_HUB.idFromName('health:probe'));
      await stub.ping();
    }),
    // A producer has no read call: checking the binding's shape is all that is safe to do
    // without enqueueing work on every probe.
    timed('auditQueue', async () => {
      if (typeof env.AUDIT_QUEUE?.send !== 'function') throw new Error('AUDIT_QUEUE binding missing');
    }),
    timed('notifyQueue', async () => {
      if (typeof env.NOTIFY_QUEUE?.send !== 'function') throw new Error('NOTIFY_QUEUE binding missing');
    }),
  ]);
}

export const healthRoutes = factory.createApp().get(healthRoute.path, endpoint(healthRoute), async (c) => {
  const config = getConfig(c.env);
  const checks = await checksFor(c.env);
  const ok = checks.every(([, r]) => r.status === 'ok');
  return c.json(
    { status: ok ? 'ok' : 'degraded', version: config.version, environment: config.env, time: new Date().toISOString(), checks: Object.fromEntries(checks) },
    ok ? 200 : 503,
  );
});
