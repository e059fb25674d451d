import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../../db/schema/app';
import { notFound } from '../../lib/errors';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';
import { urlRefused } from './webhooks-out.errors';
import type { DeliveryView, EndpointCreateBody, EndpointUpdateBody, EndpointView } from './webhooks-out.schemas';
import { generateSecret, sealSecret } from './webhooks-out.signing';
import { checkWebhookUrl, isStrict } from './webhooks-out.ssrf';

export interface WebhooksDeps {
  db: Databases;
  /** MFA_ENCRYPTION_KEY (the webhook secrets key is derived from it) and APP_ENV (URL rules). */
  env: Pick<CloudflareBindings, 'MFA_ENCRYPTION_KEY' | 'APP_ENV' | 'WEBHOOK_QUEUE'>;
  now?: number;
}

/** Both secrets sign for this long after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

type EndpointRow = typeof webhookEndpoints.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toEndpointView(r: EndpointRow, now = Date.now()): EndpointView {
  const overlap = r.previousSecretExpiresAt && r.previousSecretExpiresAt.getTime() > now ? r.previousSecretExpiresAt : null;
  return {
    id: r.publicId,
    url: r.url,
    description: r.description,
    eventTypes: r.eventTypes,
    status: r.status,
    failingSince: iso(r.failingSince),
    pausedAt: iso(r.pausedAt),
    previousSecretExpiresAt: iso(overlap),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

function safeUrl(env: WebhooksDeps['env'], raw: string): string {
  const verdict = checkWebhookUrl(raw, { production: isStrict(env.APP_ENV) });
  if (!verdict.ok) throw urlRefused(verdict.reason);
  return verdict.url.toString();
}

async function findEndpoint(db: Databases, id: string): Promise<EndpointRow> {
  const row = await db.app.select().from(webhookEndpoints).where(eq(webhookEndpoints.publicId, id)).get();
  if (!row) throw notFound('No such webhook endpoint');
  return row;
}

export async function createEndpoint(deps: WebhooksDeps, body: EndpointCreateBody): Promise<EndpointView & { secret: string }> {
  const url = safeUrl(deps.env, body.url);
  const publicId = uuidv7();
  const secret = generateSecret();
  const row = await deps.db.app
    .insert(webhookEndpoints)
    .values({ publicId, url, description: body.description ?? '', eventTypes: body.eventTypes, secretCiphertext: await sealSecret(deps.env.MFA_ENCRYPTION_KEY, publicId, secret) })
    .returning()
    .get();
  return { ...toEndpointView(row), secret };
}

export async function listEndpoints(db: Databases): Promise<EndpointView[]> {
  const rows = await db.app.select().from(webhookEndpoints).orderBy(webhookEndpoints.id).limit(500).all();
  return rows.map((r) => toEndpointView(r));
}

export async function getEndpoint(db: Databases, id: string): Promise<EndpointView> {
  return toEndpointView(await findEndpoint(db, id));
}

export async function updateEndpoint(deps: WebhooksDeps, id: string, body: EndpointUpdateBody): Promise<EndpointView> {
  await findEndpoint(deps.db, id);
  const set: Partial<typeof webhookEndpoints.$inferInsert> = {};
  if (body.url !== undefined) set.url = safeUrl(deps.env, body.url);
  if (body.eventTypes !== undefined) set.eventTypes = body.eventTypes;
  if (body.description !== undefined) set.description = body.description;
  if (body.status === 'active') Object.assign(set, { status: 'active', pausedAt: null, failingSince: null });
  if (body.status === 'paused') Object.assign(set, { status: 'paused', pausedAt: new Date(deps.now ?? Date.now()) });
  if (Object.keys(set).length === 0) return getEndpoint(deps.db, id);
  const row = await deps.db.app.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.publicId, id)).returning().get();
  if (!row) throw notFound('No such webhook endpoint');
  return toEndpointView(row);
}

/** The endpoint and its delivery log go together (one batch). */
export async function deleteEndpoint(db: Databases, id: string): Promise<void> {
  await findEndpoint(db, id);
  const deliveryIds = db.app.select({ id: webhookDeliveries.publicId }).from(webhookDeliveries).where(eq(webhookDeliveries.endpointPublicId, id));
  await db.app.batch([
    db.app.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryPublicId, deliveryIds)),
    db.app.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointPublicId, id)),
    db.app.delete(webhookEndpoints).where(eq(webhookEndpoints.publicId, id)),
  ]);
}

/** A new secret; the current one becomes the previous and keeps signing for 24 h. */
export async function rotateSecret(deps: WebhooksDeps, id: string): Promise<{ secret: string; previousSecretExpiresAt: string }> {
  const row = await findEndpoint(deps.db, id);
  const secret = generateSecret();
  const expires = new Date((deps.now ?? Date.now()) + ROTATION_OVERLAP_MS);
  await deps.db.app
    .update(webhookEndpoints)
    .set({ secretCiphertext: await sealSecret(deps.env.MFA_ENCRYPTION_KEY, row.publicId, secret), previousSecretCiphertext: row.secretCiphertext, previousSecretExpiresAt: expires })
    .where(eq(webhookEndpoints.publicId, id));
  return { secret, previousSecretExpiresAt: expires.toISOString() };
}

const ATTEMPTS_PER_DELIVERY = 20;

export async function listDeliveries(db: Databases, endpointId: string, options: { limit: number; cursor?: CursorData }): Promise<Page<DeliveryView>> {
  await findEndpoint(db, endpointId);
  let before: number | undefined;
  if (options.cursor) {
    const at = await db.app.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(eq(webhookDeliveries.publicId, options.cursor.id)).get();
    before = at?.id ?? 0;
  }
  const rows = await db.app
    .select()
    .from(webhookDeliveries)
    .where(before === undefined ? eq(webhookDeliveries.endpointPublicId, endpointId) : and(eq(webhookDeliveries.endpointPublicId, endpointId), lt(webhookDeliveries.id, before)))
    .orderBy(desc(webhookDeliveries.id))
    .limit(options.limit + 1)
    .all();
  const page = rows.slice(0, options.limit);
  const attempts = page.length
    ? await db.app
        .select()
        .from(webhookAttempts)
        .where(inArray(webhookAttempts.deliveryPublicId, page.map((d) => d.publicId)))
        .orderBy(desc(webhookAttempts.id))
        .all()
    : [];
  const byDelivery = new Map<string, typeof attempts>();
  for (const a of attempts) {
    const list = byDelivery.get(a.deliveryPublicId) ?? [];
    if (list.length < ATTEMPTS_PER_DELIVERY) list.push(a);
    byDelivery.set(a.deliveryPublicId, list);
  }
  const data = page.map((d) => ({
    id: d.publicId,
    eventType: d.eventType,
    eventId: d.eventId,
    status: d.status,
    attempts: d.attempts,
    reason: d.reason,
    deliveredAt: iso(d.deliveredAt),
    createdAt: d.createdAt.toISOString(),
    attemptLog: (byDelivery.get(d.publicId) ?? []).map((a) => ({
      id: a.publicId,
      responseStatus: a.responseStatus,
      ok: a.ok,
      durationMs: a.durationMs,
      responseBody: a.responseBody,
      error: a.error,
      createdAt: a.createdAt.toISOString(),
    })),
  }));
  const last = page.at(-1);
  return { data, nextCursor: rows.length > options.limit && last ? encodeCursor({ id: last.publicId }) : null };
}

/**
 * Manual replay: the delivery goes back to `pending` and onto the queue with the same
 * `webhook-id` (receivers that already processed it deduplicate) and a fresh timestamp.
 */
export async function replayDelivery(deps: WebhooksDeps, id: string): Promise<{ id: string; endpointId: string }> {
  const row = await deps.db.app.update(webhookDeliveries).set({ status: 'pending', reason: null }).where(eq(webhookDeliveries.publicId, id)).returning().get();
  if (!row) throw notFound('No such delivery');
  await deps.env.WEBHOOK_QUEUE.send({ deliveryId: row.publicId, replay: true }, { contentType: 'json' });
  return { id: row.publicId, endpointId: row.endpointPublicId };
}
