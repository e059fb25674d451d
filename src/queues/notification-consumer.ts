import * as z from 'zod/mini';
import { createDatabases } from '../db/client';
import { createChannels, type Channels } from '../features/notifications/channels';
import { getNotificationConfig } from '../features/notifications/notifications.config';
import { claim, release, settle } from '../features/notifications/notification-lifecycle';
import { deliver, type DeliveryContext, type Outcome } from '../features/notifications/notifications.delivery';
import { log } from '../lib/log';
import { NotificationMessage } from './notification-message';

// The lease is the lifecycle's; importers (tests) keep finding it here.
export { LEASE_MS } from '../features/notifications/notification-lifecycle';

export interface ConsumerOptions {
  /** Adapters to use instead of the configured ones (tests at the HTTP boundary). */
  channels?: Partial<Channels>;
  now?: () => Date;
  random?: () => number;
}

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

/**
 * Writes the outcome through the lifecycle, then acks or retries the message. A deferral is
 * a new message with its own delay, so it does not spend the retry budget.
 */
async function settleMessage(ctx: DeliveryContext, msg: Message<unknown>, m: NotificationMessage, outcome: Outcome, random: () => number): Promise<void> {
  const { db, now } = ctx;
  if (outcome.kind === 'defer') {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, outcome.delaySeconds);
    await ctx.env.NOTIFY_QUEUE.send({ ...m, deferrals: m.deferrals + 1 }, { delaySeconds, contentType: 'json' });
    await settle(db, m.id, { ...outcome, delaySeconds }, now);
    msg.ack();
    return;
  }
  if (outcome.kind === 'retry') {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(notificationBackoffSeconds(msg.attempts, random), outcome.retryAfterSeconds ?? 0));
    await settle(db, m.id, outcome, now);
    log('warn', 'notification delivery will be retried', { id: m.id, channel: m.channel, attempts: msg.attempts, delaySeconds, reason: outcome.reason });
    msg.retry({ delaySeconds });
    return;
  }
  await settle(db, m.id, outcome, now);
  if (outcome.kind === 'failed') log('warn', 'notification failed permanently', { id: m.id, channel: m.channel, reason: outcome.reason });
  if (outcome.kind === 'suppressed') log('info', 'notification suppressed', { id: m.id, channel: m.channel, reason: outcome.reason });
  msg.ack();
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
    await settleMessage(ctx, msg, m, outcome, random);
  } catch (err) {
    log('error', 'notification delivery error; retrying', { id: m.id, channel: m.channel, attempts: msg.attempts, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    // After a provider accepted the message, keep the lease: releasing it would invite a resend.
    if (outcome?.kind !== 'delivered') await release(ctx.db, m.id).catch(() => {});
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
