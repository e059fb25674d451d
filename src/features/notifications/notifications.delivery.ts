import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { devices } from '../../db/schema/app';
import { users } from '../../db/schema/auth';
import { log } from '../../lib/log';
import type { Channels } from './channels';
import type { SendResult } from './channels/types';
import type { NotificationMessage } from '../../queues/notification-message';
import { recipientAllowed, type NotificationConfig } from './notifications.config';
import { ALWAYS_DELIVERED, channelPreference, recordSmsOptOut } from './preferences.service';
import { secondsUntilWindowEnds } from './quiet-hours';
import { checkSmsPolicy, MAX_DEFERRALS, recipientTimeZone } from './sms.policy';

export type Outcome =
  | { kind: 'delivered'; provider: string; providerMessageId?: string }
  | { kind: 'failed'; reason: string; provider?: string }
  | { kind: 'suppressed'; reason: string }
  | { kind: 'retry'; reason: string; provider?: string; retryAfterSeconds?: number }
  | { kind: 'defer'; reason: string; delaySeconds: number };

export interface DeliveryContext {
  db: Databases;
  env: CloudflareBindings;
  config: NotificationConfig;
  channels: Channels;
  now: Date;
}

/** Devices a push goes to at most (newest first); more would be abuse of one account. */
const MAX_DEVICES = 20;

function fromResult(r: SendResult): Outcome {
  if (r.ok) return { kind: 'delivered', provider: r.provider, providerMessageId: r.providerMessageId };
  if (r.retryable) return { kind: 'retry', reason: r.reason, provider: r.provider, retryAfterSeconds: r.retryAfterSeconds };
  return { kind: 'failed', reason: r.reason, provider: r.provider };
}

/**
 * Decides and performs one delivery: the account still exists, preferences (security
 * ignores them), personal quiet hours, channel rules, then exactly one provider call per
 * target. Never throws for a provider's answer; throws only on our own infrastructure errors
 * (D1, Durable Object), which the consumer retries.
 */
export async function deliver(ctx: DeliveryContext, m: NotificationMessage): Promise<Outcome> {
  const { db } = ctx;
  const account = await db.auth.select({ email: users.email }).from(users).where(and(eq(users.publicId, m.userId), isNull(users.deletedAt))).get();
  if (!account) return { kind: 'suppressed', reason: 'user_not_found' };

  const mandatory = ALWAYS_DELIVERED[m.channel].includes(m.category);
  if (!mandatory) {
    const pref = await channelPreference(db, m.userId, m.channel);
    if (!pref.enabled) return { kind: 'suppressed', reason: 'preference_disabled' };
    if (pref.quiet && (m.channel === 'push' || m.channel === 'sms_promotional')) {
      const tz = await recipientTimeZone(db, m.userId, null, ctx.config);
      const wait = secondsUntilWindowEnds(ctx.now, tz, pref.quiet);
      if (wait > 0) return m.deferrals >= MAX_DEFERRALS ? { kind: 'suppressed', reason: 'quiet_hours' } : { kind: 'defer', reason: 'personal_quiet_hours', delaySeconds: wait };
    }
  }

  switch (m.channel) {
    case 'email': {
      const to = m.to ?? account.email;
      if (!recipientAllowed(ctx.config, to)) return { kind: 'suppressed', reason: 'recipient_not_in_allowlist' };
      const r = await ctx.channels.email.send({ to, subject: m.content.title, text: m.content.body, html: m.content.html, idempotencyKey: m.idempotencyKey, notificationId: m.id });
      return fromResult(r);
    }
    case 'sms_transactional':
    case 'sms_promotional': {
      const to = m.to;
      if (!to) return { kind: 'failed', reason: 'no_phone_number' };
      if (!recipientAllowed(ctx.config, to)) return { kind: 'suppressed', reason: 'recipient_not_in_allowlist' };
      const verdict = await checkSmsPolicy(db, ctx.config, m, ctx.now);
      if (verdict.kind !== 'allow') return verdict;
      const sender = m.channel === 'sms_promotional' ? ctx.channels.smsPromotional : ctx.channels.smsTransactional;
      const r = await sender.send({ to, body: m.content.body, notificationId: m.id });
      if (!r.ok && r.optedOut) {
        await recordSmsOptOut(db, to, m.channel === 'sms_promotional' ? 'promotional' : 'all', 'provider');
        return { kind: 'suppressed', reason: 'sms_opted_out' };
      }
      return fromResult(r);
    }
    case 'push':
      return deliverPush(ctx, m);
    case 'in_app': {
      const hub = ctx.env.NOTIFICATION_HUB.get(ctx.env.NOTIFICATION_HUB.idFromName(m.userId));
      // Stored already (the inbox row); the live push reaches the user's open sockets, if any.
      const live = await hub.publish({ type: 'notification', id: m.id, kind: m.kind, category: m.category, title: m.content.title, body: m.content.body, data: m.content.data ?? null });
      return { kind: 'delivered', provider: 'in-app', providerMessageId: `sockets:${live}` };
    }
  }
}

/**
 * One provider call per registered device. Delivered when any device accepted it; transient
 * failures on the other devices are not retried, because a retry would repeat the push on
 * the devices that already showed it. Tokens the provider reports dead are deleted.
 */
async function deliverPush(ctx: DeliveryContext, m: NotificationMessage): Promise<Outcome> {
  const rows = await ctx.db.app
    .select({ id: devices.id, provider: devices.provider, token: devices.token })
    .from(devices)
    .where(eq(devices.userPublicId, m.userId))
    .orderBy(desc(devices.lastSeenAt))
    .limit(MAX_DEVICES);
  if (rows.length === 0) return { kind: 'suppressed', reason: 'no_devices' };
  const results = await Promise.all(
    rows.map(async (d) => {
      const sender = d.provider === 'apns' ? ctx.channels.apns : ctx.channels.fcm;
      return { device: d, result: await sender.send({ token: d.token, title: m.content.title, body: m.content.body, data: m.content.data, notificationId: m.id }) };
    }),
  );
  const dead = results.filter((r) => !r.result.ok && r.result.deadToken).map((r) => r.device.id);
  if (dead.length > 0) {
    await ctx.db.app.delete(devices).where(inArray(devices.id, dead));
    log('info', 'dead push tokens removed', { count: dead.length, userId: m.userId });
  }
  const sent = results.filter((r) => r.result.ok);
  if (sent.length > 0) {
    const first = sent[0]!.result as Extract<SendResult, { ok: true }>;
    return { kind: 'delivered', provider: first.provider, providerMessageId: `${sent.length}/${results.length} devices` };
  }
  const transient = results.find((r) => !r.result.ok && r.result.retryable);
  if (transient && !transient.result.ok) return fromResult(transient.result);
  if (dead.length === results.length) return { kind: 'failed', reason: 'all device tokens dead' };
  const first = results[0]!.result;
  return first.ok ? { kind: 'delivered', provider: first.provider } : fromResult(first);
}
