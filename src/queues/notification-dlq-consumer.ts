import { uuidv7 } from '../lib/uuid';
import * as z from 'zod/mini';
import { createDatabases } from '../db/client';
import type { Fetcher } from '../features/notifications/channels/types';
import { deadLetter } from '../features/notifications/notification-lifecycle';
import { secret } from '../features/notifications/notifications.config';
import { log } from '../lib/log';
import type { AuditEvent } from './audit-message';
import { NotificationMessage } from './notification-message';

export interface DeadLetterOptions {
  fetch?: Fetcher;
}

interface DeadLetter {
  id: string;
  userId: string;
  channel: string;
  kind: string;
  reason: string;
  attempts: number;
}

function auditEvent(d: DeadLetter): AuditEvent {
  return {
    eventId: uuidv7(),
    occurredAt: Date.now(),
    level: 'error',
    action: 'notification.dead_letter',
    outcome: 'failure',
    actorId: null,
    targetId: d.userId,
    requestId: null,
    ip: null,
    userAgent: null,
    details: { notificationId: d.id, channel: d.channel, kind: d.kind, reason: d.reason, attempts: d.attempts },
  };
}

/** One alert per batch (not per message), so an outage does not flood the on-call channel. */
async function alert(env: CloudflareBindings, dead: DeadLetter[], fetcher: Fetcher): Promise<void> {
  const url = secret(env, 'ALERT_WEBHOOK_URL');
  if (!url || !/^https?:\/\//.test(url)) return;
  const channels = [...new Set(dead.map((d) => d.channel))].join(', ');
  const text = `[${env.APP_ENV}] ${dead.length} notification(s) dead-lettered (${channels}); first reason: ${dead[0]?.reason ?? 'unknown'}`;
  try {
    const res = await fetcher(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      // Ids and reasons only: no address, no content.
      body: JSON.stringify({ text, event: 'notification.dead_letter', environment: env.APP_ENV, count: dead.length, notifications: dead.slice(0, 20).map(({ id, channel, kind, reason }) => ({ id, channel, kind, reason })) }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) log('error', 'alert webhook refused', { status: res.status });
  } catch (err) {
    log('error', 'alert webhook failed', { error: String(err) });
  }
}

/**
 * Dead letters: the message exhausted its retries. The record is marked `failed` with the
 * last transient reason (unless it was delivered meanwhile), an audit event is queued, and
 * an alert goes to ALERT_WEBHOOK_URL when configured. Nothing is lost silently.
 */
export async function consumeNotificationDeadLetters(batch: MessageBatch<unknown>, env: CloudflareBindings, options: DeadLetterOptions = {}): Promise<void> {
  const db = createDatabases(env);
  const dead: DeadLetter[] = [];
  const now = new Date();
  for (const msg of batch.messages) {
    const parsed = z.safeParse(NotificationMessage, msg.body);
    if (!parsed.success) {
      log('error', 'dead-lettered notification is malformed', { messageId: msg.id });
      msg.ack();
      continue;
    }
    const m = parsed.data;
    try {
      const row = await deadLetter(db, m.id, now);
      if (row) dead.push({ id: m.id, userId: m.userId, channel: m.channel, kind: m.kind, reason: row.reason ?? 'dead_letter', attempts: row.attempts });
      else log('info', 'dead letter for a settled notification ignored', { id: m.id });
      msg.ack();
    } catch (err) {
      log('error', 'dead letter could not be recorded; retrying', { id: m.id, error: String(err) });
      msg.retry({ delaySeconds: 60 });
    }
  }
  if (dead.length === 0) return;
  log('error', 'notifications dead-lettered', { count: dead.length, ids: dead.map((d) => d.id) });
  await Promise.all([
    env.AUDIT_QUEUE.sendBatch(dead.map((d) => ({ body: auditEvent(d), contentType: 'json' as const }))).catch((err: unknown) => log('error', 'audit enqueue failed', { error: String(err) })),
    alert(env, dead, options.fetch ?? ((input, init) => fetch(input, init))),
  ]);
}
