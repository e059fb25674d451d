import { createMessageBatch, getQueueResult, createExecutionContext, type QueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect, inject, vi } from 'vitest';
import { createDatabases } from '../../../src/db/client';
import { webhookDeliveries } from '../../../src/db/schema/app';
import { consumeWebhookBatch, type WebhookConsumerOptions } from '../../../src/queues/webhook-consumer';
import type { ReceivedWebhook } from '../../setup/global-webhooks';
import { call, json } from '../../helpers/api';

export const db = () => createDatabases(env);

export interface Receiver {
  tag: string;
  url: string;
  configure(config: { secrets?: string[]; fail?: number }): Promise<void>;
  received(): Promise<ReceivedWebhook[]>;
}

export function receiver(): Receiver {
  const origin = inject('webhookReceiver');
  const tag = `t${crypto.randomUUID().slice(0, 12)}`;
  return {
    tag,
    url: `${origin}/hook/${tag}`,
    async configure(config) {
      const res = await fetch(`${origin}/config/${tag}`, { method: 'PUT', body: JSON.stringify(config) });
      expect(res.status).toBe(204);
    },
    async received() {
      return (await (await fetch(`${origin}/received/${tag}`)).json()) as ReceivedWebhook[];
    },
  };
}

export interface CreatedEndpoint {
  id: string;
  url: string;
  secret: string;
  status: string;
}

/** Subscribes the receiver and tells it the secret. */
export async function subscribe(token: string, r: Receiver, eventTypes: string[] = ['user.created']): Promise<CreatedEndpoint> {
  const res = await call('/api/v1/webhooks/endpoints', { token, body: { url: r.url, eventTypes } });
  expect(res.status).toBe(201);
  const ep = await json<CreatedEndpoint>(res);
  await r.configure({ secrets: [ep.secret] });
  return ep;
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe();
      if (v === undefined) throw new Error(`still waiting for ${what}`);
      return v;
    },
    { timeout: 10_000, interval: 50 },
  );
}

/** A pending delivery written directly (not queued), so only the test's own consume() runs it. */
export async function pendingDelivery(endpointId: string, data: Record<string, string> = { userId: crypto.randomUUID() }): Promise<string> {
  const row = await db()
    .app.insert(webhookDeliveries)
    .values({ endpointPublicId: endpointId, eventId: crypto.randomUUID(), eventType: 'user.created', payload: JSON.stringify({ type: 'user.created', version: 1, timestamp: new Date().toISOString(), data }) })
    .returning()
    .get();
  return row.publicId;
}

export async function delivery(id: string) {
  const row = await db().app.select().from(webhookDeliveries).where(eq(webhookDeliveries.publicId, id)).get();
  if (!row) throw new Error('no delivery');
  return row;
}

let seq = 0;
export async function consume(deliveryIds: string[], options: WebhookConsumerOptions & { attempts?: number; env?: CloudflareBindings; queue?: string } = {}): Promise<{ result: QueueResult; delays: Map<string, number | undefined> }> {
  const batch = createMessageBatch<unknown>(
    options.queue ?? 'app-ubr-webhooks',
    deliveryIds.map((deliveryId) => {
      seq += 1;
      return { id: `wh-${seq}`, timestamp: new Date(), attempts: options.attempts ?? 1, body: { deliveryId } };
    }),
  );
  const delays = new Map<string, number | undefined>();
  for (const msg of batch.messages) {
    const retry = msg.retry.bind(msg);
    msg.retry = (o?: QueueRetryOptions) => {
      delays.set(msg.id, o?.delaySeconds);
      retry(o);
    };
  }
  const ctx = createExecutionContext();
  await consumeWebhookBatch(batch, options.env ?? env, options);
  return { result: await getQueueResult(batch, ctx), delays };
}
