import { and, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { notifications, profiles, smsConsents } from '../../db/schema/app';
import { sha256Hex } from '../../lib/crypto';
import { log } from '../../lib/log';
import type { NotificationMessage } from '../../queues/notification-message';
import { isValidTimeZone, type NotificationConfig } from './notifications.config';
import { secondsUntilWindowEnds } from './quiet-hours';

export type PolicyVerdict = { kind: 'allow'; timeZone: string } | { kind: 'suppressed'; reason: string } | { kind: 'defer'; delaySeconds: number; reason: string };

/** A promotional SMS is put back at most this many times for quiet hours, then dropped. */
export const MAX_DEFERRALS = 3;
const HOUR = 3_600_000;
const SMS_CHANNELS = ['sms_transactional', 'sms_promotional'] as const;
// Counted against the caps: what was sent, and what is being sent right now.
const COUNTED = ['delivered', 'sending'] as const;

export async function recipientTimeZone(db: Databases, userPublicId: string, consentTz: string | null, config: NotificationConfig): Promise<string> {
  if (consentTz && isValidTimeZone(consentTz)) return consentTz;
  const profile = await db.app.select({ tz: profiles.timeZone }).from(profiles).where(eq(profiles.userPublicId, userPublicId)).get();
  return profile?.tz && isValidTimeZone(profile.tz) ? profile.tz : config.defaultTimeZone;
}

/**
 * The SMS rules, checked by the consumer before any provider call:
 * - destination prefix allowlist and per-number / per-user / global caps (SMS pumping);
 * - STOP honoured on both channels; promotional only with a recorded opt-in;
 * - promotional only outside the legal quiet hours in the recipient's time zone (deferred).
 * Caps count D1 rows (indexed), so they are approximate under heavy concurrency by at most
 * the consumer's batch size: acceptable for a fraud brake, not a billing meter.
 */
export async function checkSmsPolicy(db: Databases, config: NotificationConfig, message: NotificationMessage, now: Date): Promise<PolicyVerdict> {
  const phone = message.to ?? '';
  const prefixes = config.sms.allowedPrefixes;
  if (prefixes !== '*' && !prefixes.some((p) => phone.startsWith(p))) return { kind: 'suppressed', reason: 'sms_destination_not_allowed' };

  const consent = await db.app.select().from(smsConsents).where(eq(smsConsents.phone, phone)).get();
  if (consent?.transactionalOptOut) return { kind: 'suppressed', reason: 'sms_opted_out' };
  const promotional = message.channel === 'sms_promotional';
  if (promotional && !consent?.promotionalOptIn) return { kind: 'suppressed', reason: 'sms_no_consent' };

  const timeZone = await recipientTimeZone(db, message.userId, consent?.timeZone ?? null, config);
  if (promotional && config.sms.quietHours) {
    const wait = secondsUntilWindowEnds(now, timeZone, config.sms.quietHours);
    if (wait > 0) {
      if (message.deferrals >= MAX_DEFERRALS) return { kind: 'suppressed', reason: 'quiet_hours' };
      return { kind: 'defer', delaySeconds: wait, reason: 'quiet_hours' };
    }
  }

  const hash = await sha256Hex(phone.toLowerCase());
  const self = ne(notifications.publicId, message.id);
  const channel = inArray(notifications.channel, [...SMS_CHANNELS]);
  const counted = inArray(notifications.status, [...COUNTED]);
  const count = sql<number>`count(*)`;
  const [perNumber, perUser, global] = await db.app.batch([
    db.app.select({ n: count }).from(notifications).where(and(eq(notifications.recipientHash, hash), gt(notifications.createdAt, new Date(now.getTime() - HOUR)), channel, counted, self)),
    db.app
      .select({ n: count })
      .from(notifications)
      .where(and(eq(notifications.userPublicId, message.userId), inArray(notifications.channel, [...SMS_CHANNELS]), gt(notifications.createdAt, new Date(now.getTime() - 24 * HOUR)), counted, self)),
    db.app.select({ n: count }).from(notifications).where(and(channel, gt(notifications.createdAt, new Date(now.getTime() - HOUR)), counted, self)),
  ]);
  const n = (r: { n: number }[]) => r[0]?.n ?? 0;
  if (n(perNumber) >= config.sms.maxPerNumberPerHour) return capped('sms_cap_number', message);
  if (n(perUser) >= config.sms.maxPerUserPerDay) return capped('sms_cap_user', message);
  if (n(global) >= config.sms.maxGlobalPerHour) return capped('sms_cap_global', message);
  return { kind: 'allow', timeZone };
}

function capped(reason: string, message: NotificationMessage): PolicyVerdict {
  log('warn', 'sms cap reached; notification suppressed', { reason, notificationId: message.id, userId: message.userId });
  return { kind: 'suppressed', reason };
}
