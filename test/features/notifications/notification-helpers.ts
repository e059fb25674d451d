import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect, vi } from 'vitest';
import { createDatabases } from '../../../src/db/client';
import { notifications } from '../../../src/db/schema/app';
import { prepareNotifications } from '../../../src/features/notifications/notifications.service';
import type { NotificationMessage } from '../../../src/queues/notification-message';
import { consumeNotificationBatch, type ConsumerOptions } from '../../../src/queues/notification-consumer';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { call, json, registerUser } from '../../helpers/api';

export const db = () => createDatabases(env);

let seq = 0;

/** Records notifications as `queued` (as notify() does) without enqueueing: the test drives the consumer. */
export async function prepared(input: Record<string, unknown>): Promise<NotificationMessage[]> {
  const list = await prepareNotifications(db(), input);
  return list.map((p) => p.message);
}

export function emailInput(userId: string, overrides: Record<string, unknown> = {}) {
  return {
    userId,
    channels: ['email'],
    category: 'transactional',
    kind: 'test.hello',
    content: { title: 'Hello', body: 'Hello from the tests' },
    ...overrides,
  };
}

export function batchOf(messages: NotificationMessage[], attempts = 1, queue = 'app-ubr-notifications'): MessageBatch<unknown> {
  return createMessageBatch<unknown>(
    queue,
    messages.map((body) => {
      seq += 1;
      return { id: `msg-${seq}-${crypto.randomUUID().slice(0, 8)}`, timestamp: Date.now(), attempts, body };
    }),
  );
}

/**
 * Records the delay each message asked for: the plugin's getQueueResult reports which
 * messages were retried but not their delaySeconds, which is what backoff tests check.
 */
export function captureRetryDelays(batch: MessageBatch<unknown>): Map<string, number | undefined> {
  const delays = new Map<string, number | undefined>();
  for (const msg of batch.messages) {
    const retry = msg.retry.bind(msg);
    msg.retry = (options?: QueueRetryOptions) => {
      delays.set(msg.id, options?.delaySeconds);
      retry(options);
    };
  }
  return delays;
}

/** Runs the consumer on a batch and returns what it acked and retried (with the delays asked for). */
export async function consume(messages: NotificationMessage[], options: ConsumerOptions & { attempts?: number; env?: CloudflareBindings } = {}): Promise<QueueResult> {
  const batch = batchOf(messages, options.attempts ?? 1);
  const delays = captureRetryDelays(batch);
  const ctx = createExecutionContext();
  await consumeNotificationBatch(batch, options.env ?? env, options);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retryMessages: result.retryMessages.map((r) => ({ ...r, delaySeconds: delays.get(r.msgId) })) };
}

export async function record(id: string) {
  const row = await db().app.select().from(notifications).where(eq(notifications.publicId, id)).get();
  if (!row) throw new Error(`notification ${id} missing`);
  return row;
}

/** A fake provider at the HTTP boundary: answers with the queued responses, records each request. */
export function httpStub(responses: (Response | (() => Response))[]) {
  const requests: Request[] = [];
  const fetcher = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    requests.push(req.clone());
    const next = responses.length > 1 ? responses.shift()! : responses[0]!;
    return typeof next === 'function' ? next() : next.clone();
  };
  return { fetch: fetcher, requests };
}

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/**
 * Registers a user and waits for the verification email that registration sends to settle,
 * then removes its record: tests that count a user's notifications start from zero.
 */
export async function registerQuietUser(): Promise<Awaited<ReturnType<typeof registerUser>>> {
  const user = await registerUser();
  const end = Date.now() + 8000;
  for (;;) {
    const row = await env.APP_DB.prepare("SELECT status FROM notifications WHERE user_public_id = ?1 AND kind = 'auth.verify_email'")
      .bind(user.user.id)
      .first<{ status: string }>();
    if (row && row.status !== 'queued' && row.status !== 'sending') break;
    if (Date.now() > end) throw new Error('the verification email did not settle');
    await new Promise((r) => setTimeout(r, 50));
  }
  await env.APP_DB.prepare("DELETE FROM notifications WHERE user_public_id = ?1 AND kind = 'auth.verify_email'").bind(user.user.id).run();
  return user;
}

/** The latest SMS consent code texted to `phone` since `since` (ms), read from the recording provider. */
export async function smsConsentCode(phone: string, since = 0): Promise<string> {
  return vi.waitFor(
    () => {
      const sms = recordedMessages((m) => m.channel === 'sms' && m.to === phone && m.at >= since && /confirm marketing texts/.test(m.body)).at(-1);
      const code = sms && /: (\d{6})\./.exec(sms.body)?.[1];
      if (!code) throw new Error('no consent code texted yet');
      return code;
    },
    { timeout: 8000, interval: 50 },
  );
}

/** Double opt-in to promotional SMS, as a client does: request a code, read it off the phone, confirm. */
export async function optInSms(token: string, phone: string, timeZone?: string): Promise<Record<string, unknown>> {
  const since = Date.now();
  const put = await call('/api/v1/notifications/sms-consent', { method: 'PUT', token, body: { phone, promotional: true, ...(timeZone ? { timeZone } : {}) } });
  expect(put.status).toBe(202);
  const code = await smsConsentCode(phone, since);
  const verify = await call('/api/v1/notifications/sms-consent/verify', { token, body: { code } });
  expect(verify.status).toBe(200);
  return json(verify);
}
