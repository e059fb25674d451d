import * as z from 'zod/mini';
import { NOTIFICATION_CHANNELS } from '../../db/schema/app';
import { PhoneNumber } from '../../queues/notification-message';
import { isValidTimeZone } from './notifications.config';

const HHMM = z.string().check(z.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Time must be HH:MM (24 h)'));

export const QuietHours = z
  .strictObject({ start: HHMM, end: HHMM })
  .check(z.refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] }));

export const ChannelPreferenceInput = z.strictObject({
  enabled: z.optional(z.boolean()),
  /** null removes personal quiet hours. */
  quietHours: z.optional(z.nullable(QuietHours)),
});

export const PreferencesBody = z
  .strictObject({
    channels: z.partial(z.strictObject(Object.fromEntries(NOTIFICATION_CHANNELS.map((c) => [c, ChannelPreferenceInput])) as Record<(typeof NOTIFICATION_CHANNELS)[number], typeof ChannelPreferenceInput>)),
  })
  .check(z.refine((b) => Object.keys(b.channels).length > 0, { message: 'At least one channel', path: ['channels'] }));

export const ChannelPreferenceResponse = z.object({
  enabled: z.boolean(),
  quietHours: z.nullable(z.object({ start: z.string(), end: z.string() })),
  /** Categories delivered on this channel whatever `enabled` says (security mail). */
  alwaysDelivered: z.array(z.string()),
});

export const PreferencesResponse = z.object({
  channels: z.record(z.enum(NOTIFICATION_CHANNELS), ChannelPreferenceResponse),
});

export const TimeZone = z.string().check(z.maxLength(64), z.refine(isValidTimeZone, 'Unknown time zone (IANA name expected, e.g. Europe/Paris)'));

export const SmsConsentBody = z.strictObject({
  phone: PhoneNumber,
  /** Opt-in to promotional SMS (true: a code is texted to the number first) or its withdrawal (false: at once). */
  promotional: z.boolean(),
  timeZone: z.optional(TimeZone),
});

/** The code texted to the number by PUT /notifications/sms-consent (promotional: true). */
export const SmsConsentVerifyBody = z.strictObject({
  code: z.string().check(z.trim(), z.regex(/^\d{6}$/, 'Code must be 6 digits')),
});

/** 202 to an opt-in: nothing is recorded until the code sent to the number comes back. */
export const SmsConsentPending = z.object({
  phone: z.string(),
  status: z.literal('verification_sent'),
  expiresAt: z.string(),
});

export const SmsConsentResponse = z.object({
  phone: z.string(),
  promotional: z.boolean(),
  transactionalOptOut: z.boolean(),
  timeZone: z.nullable(z.string()),
  updatedAt: z.string(),
});
export const SmsConsentList = z.object({
  data: z.array(SmsConsentResponse),
  /** The opt-in waiting for its code, if any (added field: older clients ignore it). */
  pending: z.nullable(z.object({ phone: z.string(), expiresAt: z.string() })),
});
