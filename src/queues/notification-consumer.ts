import { and, eq, lt, or, sql } from 'drizzle-orm';
import * as z from 'zod/mini';
import { createDatabases, type Databases } from '../db/client';
import { notifications } from '../db/schema/app';
import { getNotificationConfig } from '../features/notifications/notifications.config';
import { deliver, type DeliveryContext, type Outcome } from '../features/notifications/notifications.delivery';
import { log } from '../lib/log';
import { createChannels, type Channels } from '../features/notifications/channels';
import { NotificationMessage } from './notification-message';

export interface ConsumerOptions {
  /** Adapters to use instead of the configured ones (tests at the HTTP boundary). */
  channels?: Partial<Channels>;
  now?: () => Date;
  random?: () => number;
}

/** A consumer holds a record this long while it calls the provider (crash recovery). */
export const LEASE_MS = 120_000;
const BACKOFF_BASE_SECONDS = 15;
const BACKOFF_MAX_SECONDS = 3600;
/** Queues refuse delays above 12 hours. */
const MAX_DELAY_SECONDS = 43_200;

/**
 * Exponential backoff from the message's delivery count (1 on the first delivery):
 * 15 s, 30 s, 60 s … capped at 1 h, with ±20 % jitter so a provider outage does not end in
 * a synchronized stampede.
 */
export function notificationBackoffSeconds(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

type Claim = { kind: 'claimed' } | { kind: 'missing' } | { kind: 'done'; status: string } | { kind: 'busy'; waitSeconds: number };

/**
 * Moves the record from `queued` (or an expired `sending` lease) to `sending` in one
 * conditional UPDATE: of two deliveries of the same message, exactly one wins. A record
 * already delivered, failed or suppressed is never sent again.
 */
async function claim(db: Databases, id: string, now: Date): Promise<Claim> {
  const won = await db.app
    .update(notifications)
    .set({ status: 'sending', leaseUntil: new Date(now.getTime() + LEASE_MS), attempts: sql`${notifications.attempts} + 1` })
    .where(and(eq(notifications.publicId, id), or(eq(notifications.status, 'queued'), and(eq(notifications.status, 'sending'), lt(notifications.leaseUntil, now)))))
    .returning({ id: notifications.id });
  if (won.length > 0) return { kind: 'claimed' };
  const row = await db.app.select({ status: notifications.status, leaseUntil: notifications.leaseUntil }).from(notifications).where(eq(notifications.publicId, id)).get();
  if (!row) return { kind: 'missing' };
  if (row.status === 'sending') return { kind: 'busy', waitSeconds: Math.max(1, Math.ceil(((row.leaseUntil?.getTime() ?? 0) - now.getTime()) / 1000)) };
  return { kind: 'done', status: row.status };
}

async function settle(ctx: DeliveryContext, msg: Message<unknown>, m: NotificationMessage, outcome: Outcome, random: () => number): Promise<void> {
  const { db, now } = ctx;
  const where = eq(notifications.publicId, m.id);
  switch (outcome.kind) {
    case 'delivered':
      await db.app
        .update(notifications)
        .set({ status: 'delivered', deliveredAt: now, provider: outcome.provider, providerMessageId: outcome.providerMessageId ?? null, reason: null, leaseUntil: null })
        .where(where);
      msg.ack();
      return;
    case 'failed':
      await db.app.update(notifications).set({ status: 'failed', failedAt: now, reason: outcome.reason, provider: outcome.provider ?? null, leaseUntil: null }).where(where);
      log('warn', 'notification failed permanently', { id: m.id, channel: m.channel, reason: outcome.reason });
      msg.ack();
      return;
    case 'suppressed':
      await db.app.update(notifications).set({ status: 'suppressed', reason: outcome.reason, leaseUntil: null }).where(where);
      log('info', 'notification suppressed', { id: m.id, channel: m.channel, reason: outcome.reason });
      msg.ack();
      return;
    case 'defer': {
      // A new message with its own delay: deferral does not spend the retry budget.
      const delaySeconds = Math.min(MAX_DELAY_SECONDS, outcome.delaySeconds);
      await ctx.env.NOTIFY_QUEUE.send({ ...m, deferrals: m.deferrals + 1 }, { delaySeconds, contentType: 'json' });
      await db.app
        .update(notifications)
        .set({ status: 'queued', notBefore: new Date(now.getTime() + delaySeconds * 1000), reason: `deferred: ${outcome.reason}`, leaseUntil: null })
        .where(where);
      msg.ack();
      return;
    }
    case 'retry': {
      const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(notificationBackoffSeconds(msg.attempts, random), outcome.retryAfterSeconds ?? 0));
      await db.app.update(notifications).set({ status: 'queued', reason: outcome.reason, provider: outcome.provider ?? null, leaseUntil: null }).where(where);
      log('warn', 'notification delivery will be retried', { id: m.id, channel: m.channel, attempts: msg.attempts, delaySeconds, reason: outcome.reason });
      msg.retry({ delaySeconds });
      return;
    }
  }
}

async function handle(msg: Message<unknown>, base: Omit<DeliveryContext, 'now'>, options: ConsumerOptions): Promise<void> {
  const parsed = z.safeParse(NotificationMessage, msg.body);
  if (!parsed.success) {
    // It would fail the same way forever: drop it loudly instead of feeding the DLQ.
    log('error', 'notification message rejected', { messageId: msg.id, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) });
    msg.ack();
    return;
  }
  const m = parsed.data;
  const random = options.random ?? Math.random;
  const ctx: DeliveryContext = { ...base, now: options.now?.() ?? new Date() };
  let outcome: Outcome | undefined;
  try {
    const claimed = await claim(ctx.db, m.id, ctx.now);
    if (claimed.kind === 'missing') {
      log('warn', 'notification record missing; message dropped', { id: m.id });
      msg.ack();
      return;
    }
    if (claimed.kind === 'done') {
      log('info', 'duplicate delivery ignored', { id: m.id, status: claimed.status });
      msg.ack();
      return;
    }
    if (claimed.kind === 'busy') {
      msg.retry({ delaySeconds: claimed.waitSeconds });
      return;
    }
    outcome = await deliver(ctx, m);
    await settle(ctx, msg, m, outcome, random);
  } catch (err) {
    log('error', 'notification delivery error; retrying', { id: m.id, channel: m.channel, attempts: msg.attempts, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    // After a provider accepted the message, keep the lease: releasing it would invite a resend.
    if (outcome?.kind !== 'delivered') {
      await ctx.db.app
        .update(notifications)
        .set({ status: 'queued', reason: 'internal error', leaseUntil: null })
        .where(and(eq(notifications.publicId, m.id), eq(notifications.status, 'sending')))
        .catch(() => {});
    }
    msg.retry({ delaySeconds: notificationBackoffSeconds(msg.attempts, random) });
  }
}

/**
 * The notifications consumer: each message is acked or retried on its own (never the whole
 * batch for one failure), with exponential backoff from `attempts`; after max_retries the
 * queue moves it to the dead-letter queue (notification-dlq-consumer.ts).
 */
export async function consumeNotificationBatch(batch: MessageBatch<unknown>, env: CloudflareBindings, options: ConsumerOptions = {}): Promise<void> {
  const base = { db: createDatabases(env), env, config: getNotificationConfig(env), channels: createChannels(env, options.channels) };
  await Promise.all(batch.messages.map((msg) => handle(msg, base, options)));
}
