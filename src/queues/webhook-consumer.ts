import { inArray } from 'drizzle-orm';
import * as z from 'zod/mini';
import { createDatabases } from '../db/client';
import { webhookDeliveries } from '../db/schema/app';
import { deliver, markDeadLettered, type Fetcher } from '../features/webhooks-out/webhooks-out.delivery';
import { getConfig } from '../lib/config';
import { log } from '../lib/log';
import { WebhookMessage } from './webhook-message';

export interface WebhookConsumerOptions {
  fetch?: Fetcher;
  now?: () => number;
}

/**
 * WEBHOOK_QUEUE: one attempt per message. Messages for the same endpoint run one after another
 * (at most one request in flight per endpoint per batch, so a slow receiver is not flooded);
 * different endpoints run in parallel. A failure retries with backoff and jitter; after
 * max_retries the message lands in the dead-letter queue.
 */
export async function consumeWebhookBatch(batch: MessageBatch<unknown>, env: CloudflareBindings, options: WebhookConsumerOptions = {}): Promise<void> {
  const db = createDatabases(env);
  const deps = { db, env, breakerMs: getConfig(env).webhooks.breakerMs, fetch: options.fetch, now: options.now };
  const valid: { msg: Message<unknown>; body: WebhookMessage }[] = [];
  for (const msg of batch.messages) {
    const parsed = z.safeParse(WebhookMessage, msg.body);
    if (parsed.success) valid.push({ msg, body: parsed.data });
    else {
      log('error', 'webhook message rejected', { messageId: msg.id });
      msg.ack();
    }
  }
  if (valid.length === 0) return;
  const owners = await db.app
    .select({ id: webhookDeliveries.publicId, endpoint: webhookDeliveries.endpointPublicId })
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.publicId, [...new Set(valid.map((v) => v.body.deliveryId))]))
    .all();
  const endpointOf = new Map(owners.map((o) => [o.id, o.endpoint]));
  const groups = new Map<string, typeof valid>();
  for (const item of valid) {
    const key = endpointOf.get(item.body.deliveryId) ?? item.body.deliveryId;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  await Promise.all(
    [...groups.values()].map(async (items) => {
      for (const { msg, body } of items) {
        try {
          const outcome = await deliver(deps, body, msg.attempts);
          if (outcome.kind === 'done') msg.ack();
          else msg.retry({ delaySeconds: outcome.delaySeconds });
        } catch (err) {
          log('error', 'webhook delivery errored; retrying', { deliveryId: body.deliveryId, error: String(err) });
          msg.retry({ delaySeconds: 60 });
        }
      }
    }),
  );
}

export async function consumeWebhookDeadLetters(batch: MessageBatch<unknown>, env: CloudflareBindings): Promise<void> {
  const db = createDatabases(env);
  for (const msg of batch.messages) {
    const parsed = z.safeParse(WebhookMessage, msg.body);
    if (!parsed.success) {
      msg.ack();
      continue;
    }
    try {
      await markDeadLettered(db, parsed.data.deliveryId);
      log('error', 'webhook delivery dead-lettered', { deliveryId: parsed.data.deliveryId, attempts: msg.attempts });
      msg.ack();
    } catch (err) {
      log('error', 'webhook dead letter could not be recorded; retrying', { error: String(err) });
      msg.retry({ delaySeconds: 60 });
    }
  }
}
