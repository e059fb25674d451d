import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type * as z from 'zod/mini';
import type { Databases } from '../../db/client';
import { NOTIFICATION_CHANNELS, notificationPreferences, smsConsents, type NotificationChannel } from '../../db/schema/app';
import type { PreferencesBody, PreferencesResponse, SmsConsentResponse } from './preferences.schemas';
import { formatMinute, parseMinute, type QuietWindow } from './quiet-hours';

export interface ChannelPreference {
  enabled: boolean;
  quiet: QuietWindow | null;
}

/** Security notifications (reset, verification, new sign-in) ignore the on/off switch. */
export const ALWAYS_DELIVERED: Record<NotificationChannel, string[]> = {
  email: ['security'],
  push: ['security'],
  sms_transactional: ['security'],
  sms_promotional: [],
  in_app: ['security'],
};

const DEFAULT: ChannelPreference = { enabled: true, quiet: null };

export async function channelPreference(db: Databases, userPublicId: string, channel: NotificationChannel): Promise<ChannelPreference> {
  const row = await db.app
    .select({ enabled: notificationPreferences.enabled, start: notificationPreferences.quietStartMinute, end: notificationPreferences.quietEndMinute })
    .from(notificationPreferences)
    .where(and(eq(notificationPreferences.userPublicId, userPublicId), eq(notificationPreferences.channel, channel)))
    .get();
  if (!row) return DEFAULT;
  return { enabled: row.enabled, quiet: row.start !== null && row.end !== null ? { start: row.start, end: row.end } : null };
}

export async function getPreferences(db: Databases, userPublicId: string): Promise<z.infer<typeof PreferencesResponse>> {
  const rows = await db.app.select().from(notificationPreferences).where(eq(notificationPreferences.userPublicId, userPublicId));
  const byChannel = new Map(rows.map((r) => [r.channel, r]));
  const channels = Object.fromEntries(
    NOTIFICATION_CHANNELS.map((c) => {
      const r = byChannel.get(c);
      const quiet = r && r.quietStartMinute !== null && r.quietEndMinute !== null ? { start: formatMinute(r.quietStartMinute), end: formatMinute(r.quietEndMinute) } : null;
      return [c, { enabled: r ? r.enabled : true, quietHours: quiet, alwaysDelivered: ALWAYS_DELIVERED[c] }];
    }),
  ) as z.infer<typeof PreferencesResponse>['channels'];
  return { channels };
}

/** Upserts the channels named in the body (one batch); the others keep their values. */
export async function putPreferences(db: Databases, userPublicId: string, body: z.infer<typeof PreferencesBody>) {
  const current = await getPreferences(db, userPublicId);
  const now = new Date();
  const statements = Object.entries(body.channels).map(([channel, input]) => {
    const c = channel as NotificationChannel;
    const before = current.channels[c];
    const enabled = input?.enabled ?? before.enabled;
    const quiet = input?.quietHours === undefined ? before.quietHours : input.quietHours;
    const values = { enabled, quietStartMinute: quiet ? parseMinute(quiet.start) : null, quietEndMinute: quiet ? parseMinute(quiet.end) : null, updatedAt: now };
    return db.app
      .insert(notificationPreferences)
      .values({ userPublicId, channel: c, createdAt: now, ...values })
      .onConflictDoUpdate({ target: [notificationPreferences.userPublicId, notificationPreferences.channel], set: values });
  });
  await db.app.batch(statements as unknown as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  return getPreferences(db, userPublicId);
}

type ConsentRow = typeof smsConsents.$inferSelect;

export function toConsentView(r: ConsentRow): z.infer<typeof SmsConsentResponse> {
  return { phone: r.phone, promotional: r.promotionalOptIn, transactionalOptOut: r.transactionalOptOut, timeZone: r.timeZone, updatedAt: r.updatedAt.toISOString() };
}

export async function listSmsConsents(db: Databases, userPublicId: string) {
  const rows = await db.app.select().from(smsConsents).where(eq(smsConsents.userPublicId, userPublicId)).limit(20);
  return rows.map(toConsentView);
}

export type InboundKeyword = 'opt_out' | 'opt_in' | 'help' | null;

/** CTIA keywords, matched on the whole trimmed message, case-insensitively. */
export function parseKeyword(text: string): InboundKeyword {
  const word = text.trim().toUpperCase();
  if (['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE'].includes(word)) return 'opt_out';
  if (['START', 'UNSTOP', 'YES'].includes(word)) return 'opt_in';
  if (['HELP', 'INFO'].includes(word)) return 'help';
  return null;
}

/**
 * Records an opt-out reported by the recipient (STOP) or the provider (Twilio 21610): no
 * promotional SMS, and no SMS at all when `all`. Works for numbers we have never seen.
 */
export async function recordSmsOptOut(db: Databases, phone: string, scope: 'promotional' | 'all', source: 'stop_keyword' | 'provider'): Promise<void> {
  const now = new Date();
  const all = scope === 'all';
  await db.app
    .insert(smsConsents)
    .values({ userPublicId: '', phone, promotionalOptIn: false, promotionalChangedAt: now, transactionalOptOut: all, source, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: smsConsents.phone,
      set: { promotionalOptIn: false, promotionalChangedAt: now, transactionalOptOut: all ? true : sql`${smsConsents.transactionalOptOut}`, source, updatedAt: now },
    });
}

/** Applies an inbound SMS (from the provider's webhook): STOP opts out, START lifts a STOP. */
export async function applyInboundSms(db: Databases, from: string, text: string): Promise<InboundKeyword> {
  const keyword = parseKeyword(text);
  if (keyword === 'opt_out') await recordSmsOptOut(db, from, 'all', 'stop_keyword');
  if (keyword === 'opt_in') {
    await db.app.update(smsConsents).set({ transactionalOptOut: false, source: 'stop_keyword' }).where(eq(smsConsents.phone, from));
  }
  return keyword;
}
