import { and, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../../db/schema/app';
import { roles, userRoles, users } from '../../db/schema/auth';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { log } from '../../lib/log';
import type { AuditEvent } from '../../queues/audit-message';
import type { WebhookMessage } from '../../queues/webhook-message';
import { notify } from '../notifications/notifications.service';
import { toWebhookEvent } from './webhooks-out.events';
import { openSecret, signatureHeaders } from './webhooks-out.signing';
import { checkWebhookUrl, isStrict } from './webhooks-out.ssrf';

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

export interface DeliveryDeps {
  db: Databases;
  env: Pick<CloudflareBindings, 'MFA_ENCRYPTION_KEY' | 'APP_ENV' | 'WEBHOOK_QUEUE' | 'AUDIT_QUEUE' | 'NOTIFY_QUEUE'>;
  breakerMs: number;
  fetch?: Fetcher;
  now?: () => number;
}

export const ATTEMPT_TIMEOUT_MS = 10_000;
export const RESPONSE_LOG_BYTES = 1024;
// D1 binds at most 100 parameters per statement; a delivery row binds 9.
const ROWS_PER_STATEMENT = 10;

/** Exponential backoff with full jitter: 10 s × 2^(n-1), capped at 1 h, then a random share of it. */
export function webhookBackoffSeconds(attempts: number, random = Math.random): number {
  const ceiling = Math.min(3600, 10 * 2 ** Math.max(0, attempts - 1));
  return Math.max(1, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}

/**
 * Called by the audit consumer once its insert succeeded: one delivery row per (event, active
 * endpoint subscribed to its type), then one queue message per new row. Idempotent: the rows are
 * unique per (endpoint, event), and a rerun re-sends only the rows never attempted.
 */
export async function fanOut(deps: Pick<DeliveryDeps, 'db' | 'env'>, events: AuditEvent[]): Promise<number> {
  const webhookEvents = events.map(toWebhookEvent).filter((e) => e !== null);
  if (webhookEvents.length === 0) return 0;
  const endpoints = await deps.db.app.select({ id: webhookEndpoints.publicId, eventTypes: webhookEndpoints.eventTypes }).from(webhookEndpoints).where(eq(webhookEndpoints.status, 'active')).all();
  const rows = webhookEvents.flatMap((e) =>
    endpoints.filter((ep) => ep.eventTypes.includes(e.type)).map((ep) => ({ publicId: uuidv7(), endpointPublicId: ep.id, eventId: e.eventId, eventType: e.type, payload: e.payload })),
  );
  if (rows.length === 0) return 0;
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) inserts.push(deps.db.app.insert(webhookDeliveries).values(rows.slice(i, i + ROWS_PER_STATEMENT)).onConflictDoNothing());
  await deps.db.app.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
  const eventIds = [...new Set(webhookEvents.map((e) => e.eventId))];
  const fresh = await deps.db.app
    .select({ id: webhookDeliveries.publicId })
    .from(webhookDeliveries)
    .where(and(inArray(webhookDeliveries.eventId, eventIds), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.attempts, 0)))
    .all();
  for (let i = 0; i < fresh.length; i += 100) {
    await deps.env.WEBHOOK_QUEUE.sendBatch(fresh.slice(i, i + 100).map((d) => ({ body: { deliveryId: d.id } satisfies WebhookMessage, contentType: 'json' as const })));
  }
  return fresh.length;
}

/** At most RESPONSE_LOG_BYTES of the answer, read from the stream (a huge body is never buffered). */
async function readHead(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < RESPONSE_LOG_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all.slice(0, RESPONSE_LOG_BYTES));
}

export type Outcome = { kind: 'done' } | { kind: 'retry'; delaySeconds: number };

async function settle(db: Databases, deliveryId: string, status: 'delivered' | 'failed', reason: string | null, now: number): Promise<void> {
  await db.app
    .update(webhookDeliveries)
    .set({ status, reason, deliveredAt: status === 'delivered' ? new Date(now) : null })
    .where(and(eq(webhookDeliveries.publicId, deliveryId), eq(webhookDeliveries.status, 'pending')));
}

/**
 * One attempt for one message. `done`: ack (delivered, settled or nothing to do); `retry`: the
 * queue brings it back after the delay. Every HTTP attempt is logged with its status, duration
 * and the first KiB of the answer.
 */
export async function deliver(deps: DeliveryDeps, message: WebhookMessage, attempt: number): Promise<Outcome> {
  const now = deps.now ?? Date.now;
  const { db } = deps;
  const delivery = await db.app.select().from(webhookDeliveries).where(eq(webhookDeliveries.publicId, message.deliveryId)).get();
  if (!delivery || delivery.status !== 'pending') return { kind: 'done' };
  const endpoint = await db.app.select().from(webhookEndpoints).where(eq(webhookEndpoints.publicId, delivery.endpointPublicId)).get();
  if (!endpoint) {
    await settle(db, delivery.publicId, 'failed', 'endpoint_deleted', now());
    return { kind: 'done' };
  }
  if (endpoint.status === 'paused') {
    await settle(db, delivery.publicId, 'failed', 'endpoint_paused', now());
    return { kind: 'done' };
  }
  // Checked again at send time: the environment's rules may be stricter than when it was saved.
  const verdict = checkWebhookUrl(endpoint.url, { production: isStrict(deps.env.APP_ENV) });
  if (!verdict.ok) {
    await settle(db, delivery.publicId, 'failed', 'url_refused', now());
    return { kind: 'done' };
  }
  const key = deps.env.MFA_ENCRYPTION_KEY;
  const secrets = [await openSecret(key, endpoint.publicId, endpoint.secretCiphertext)];
  if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt.getTime() > now()) {
    secrets.push(await openSecret(key, endpoint.publicId, endpoint.previousSecretCiphertext));
  }
  const headers = await signatureHeaders(secrets, delivery.publicId, Math.floor(now() / 1000), delivery.payload);
  const started = performance.now();
  let status: number | null = null;
  let body: string | null = null;
  let error: string | null = null;
  try {
    const res = await (deps.fetch ?? ((u, i) => fetch(u, i)))(verdict.url.toString(), {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', 'User-Agent': 'app-ubr-webhooks/1' },
      body: delivery.payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    status = res.status;
    body = await readHead(res);
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : 'fetch failed';
  }
  const ok = status !== null && status >= 200 && status < 300;
  const at = now();
  await db.app.batch([
    db.app.insert(webhookAttempts).values({ deliveryPublicId: delivery.publicId, responseStatus: status, ok, durationMs: Math.round(performance.now() - started), responseBody: body, error }),
    db.app.update(webhookDeliveries).set({ attempts: sql`${webhookDeliveries.attempts} + 1`, reason: ok ? null : (error ?? `http_${status}`) }).where(eq(webhookDeliveries.publicId, delivery.publicId)),
    ok
      ? db.app.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.publicId, endpoint.publicId))
      : db.app.update(webhookEndpoints).set({ failingSince: new Date(at) }).where(and(eq(webhookEndpoints.publicId, endpoint.publicId), isNull(webhookEndpoints.failingSince))),
  ]);
  if (ok) {
    await settle(db, delivery.publicId, 'delivered', null, at);
    return { kind: 'done' };
  }
  if (await tripBreaker(deps, endpoint.publicId, at)) {
    await settle(db, delivery.publicId, 'failed', 'endpoint_paused', at);
    return { kind: 'done' };
  }
  return { kind: 'retry', delaySeconds: webhookBackoffSeconds(attempt) };
}

/**
 * Circuit breaker: an endpoint whose failures started at least `breakerMs` ago (no success
 * since) is paused by one conditional UPDATE, so exactly one consumer records it: an audit
 * event and an in-app + email notice to every admin. An operator resumes it with PATCH.
 */
export async function tripBreaker(deps: DeliveryDeps, endpointId: string, now: number): Promise<boolean> {
  const paused = await deps.db.app
    .update(webhookEndpoints)
    .set({ status: 'paused', pausedAt: new Date(now) })
    .where(and(eq(webhookEndpoints.publicId, endpointId), eq(webhookEndpoints.status, 'active'), lte(webhookEndpoints.failingSince, new Date(now - deps.breakerMs))))
    .returning({ id: webhookEndpoints.publicId, url: webhookEndpoints.url, failingSince: webhookEndpoints.failingSince })
    .get();
  if (!paused) {
    const row = await deps.db.app.select({ status: webhookEndpoints.status }).from(webhookEndpoints).where(eq(webhookEndpoints.publicId, endpointId)).get();
    return row?.status === 'paused';
  }
  const hours = Math.round(((now - (paused.failingSince?.getTime() ?? now)) / 3_600_000) * 10) / 10;
  log('warn', 'webhook endpoint paused by the circuit breaker', { endpointId, failingHours: hours });
  const event: AuditEvent = {
    eventId: uuidv7(),
    occurredAt: now,
    level: 'warn',
    action: 'webhook.endpoint_paused',
    outcome: 'success',
    actorId: null,
    targetId: endpointId,
    requestId: null,
    ip: null,
    userAgent: null,
    details: { reason: 'circuit_breaker', failingHours: hours },
  };
  await deps.env.AUDIT_QUEUE.send(event, { contentType: 'json' }).catch((err: unknown) => log('error', 'audit enqueue failed', { error: String(err) }));
  await notifyAdmins(deps, endpointId, paused.url, hours).catch((err: unknown) => log('error', 'webhook pause notice failed', { endpointId, error: String(err) }));
  return true;
}

async function notifyAdmins(deps: DeliveryDeps, endpointId: string, url: string, hours: number): Promise<void> {
  const admins = await deps.db.auth
    .select({ id: users.publicId })
    .from(users)
    .innerJoin(userRoles, eq(userRoles.userId, users.id))
    .innerJoin(roles, eq(roles.id, userRoles.roleId))
    .where(and(eq(roles.name, BUILT_IN_ROLES.admin), isNull(users.deletedAt)))
    .limit(50)
    .all();
  const host = new URL(url).host;
  for (const admin of admins) {
    await notify(
      { db: deps.db, env: deps.env },
      {
        userId: admin.id,
        channels: ['in_app', 'email'],
        category: 'transactional',
        kind: 'webhooks.endpoint_paused',
        content: { title: 'A webhook endpoint was paused', body: `Deliveries to ${host} failed for ${hours} h; the endpoint ${endpointId} is paused. Fix the receiver, then resume it (PATCH status "active") and replay what failed.` },
        idempotencyKey: `webhook-paused:${endpointId}:${admin.id}:${Math.floor(Date.now() / 60_000)}`,
      },
    );
  }
}

/** Dead letter: retries exhausted; the delivery is marked failed (replayable). */
export async function markDeadLettered(db: Databases, deliveryId: string, now = Date.now()): Promise<void> {
  await settle(db, deliveryId, 'failed', 'retries_exhausted', now);
}
