import * as z from 'zod/mini';
import { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS } from '../db/schema/app';

/**
 * The notification as it travels through NOTIFY_QUEUE, shared by the producer (notify()),
 * the consumer and the dead-letter consumer. Every string that can reach a mail header, an
 * SMTP command or a provider URL is refused here when it carries a control character, so
 * header injection is impossible before any adapter sees the value (adapters sanitise again).
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Body text may hold line breaks and tabs; nothing else below 0x20.
// eslint-disable-next-line no-control-regex
const BODY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** One line of text: no CR, LF or any other control character. */
export const SafeLine = (max: number) =>
  z.string().check(
    z.minLength(1, 'Must not be empty'),
    z.maxLength(max, `Must be at most ${max} characters`),
    z.refine((s) => !CONTROL.test(s), 'Must not contain control characters (line breaks included)'),
  );

export const EmailAddress = z.string().check(
  z.maxLength(254, 'Email is too long'),
  z.refine((s) => !CONTROL.test(s) && !/[\s<>"(),;:\\[\]]/.test(s), { error: 'Invalid email', abort: true }),
  z.email({ error: 'Invalid email' }),
);

/** E.164: "+" then 8 to 15 digits, no leading zero. */
export const PhoneNumber = z.string().check(z.regex(/^\+[1-9]\d{7,14}$/, 'Phone number must be in E.164 format (+14155550100)'));

export const IdempotencyKey = z.string().check(
  z.minLength(8, 'Idempotency key must be at least 8 characters'),
  z.maxLength(160, 'Idempotency key is too long'),
  z.regex(/^[A-Za-z0-9:_.-]+$/, 'Idempotency key may contain letters, digits and : _ . - only'),
);

/** A stable machine name for the kind of notification, e.g. `auth.password_reset`. */
export const Kind = z.string().check(z.regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'kind must be lower-case letters, digits, _ . - (max 64)'));

// Keys FCM reserves in `data`, refused so a payload never collides with them.
const RESERVED_DATA_KEY = /^(from|notification|message_type|collapse_key|google\..*|gcm\..*)$/i;
const DataKey = z.string().check(
  z.regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'data keys are letters, digits, _ (max 40)'),
  z.refine((k) => !RESERVED_DATA_KEY.test(k), 'Reserved data key'),
);

export const NotificationContent = z.strictObject({
  /** Email subject, push title, in-app title. */
  title: SafeLine(200),
  body: z.string().check(
    z.minLength(1, 'Must not be empty'),
    z.maxLength(4000, 'Must be at most 4000 characters'),
    z.refine((s) => !BODY_CONTROL.test(s), 'Must not contain control characters'),
  ),
  /** Email only; the text body is always sent alongside. */
  html: z.optional(z.string().check(z.maxLength(50_000, 'HTML is too long'))),
  data: z.optional(
    z
      .record(DataKey, z.string().check(z.maxLength(500, 'data values are at most 500 characters')))
      .check(z.refine((r) => Object.keys(r).length <= 20, 'At most 20 data keys')),
  ),
});
export type NotificationContent = z.infer<typeof NotificationContent>;

export const NotificationMessage = z.object({
  v: z.literal(1),
  /** Public id of the APP_DB record. */
  id: z.uuid(),
  idempotencyKey: IdempotencyKey,
  userId: z.uuid(),
  channel: z.enum(NOTIFICATION_CHANNELS),
  category: z.enum(NOTIFICATION_CATEGORIES),
  kind: Kind,
  /** Email address or E.164 number; absent for push / in-app, and for email (the account's address). */
  to: z.optional(z.union([EmailAddress, PhoneNumber])),
  content: NotificationContent,
  /** Times the message was put back for quiet hours (bounded). */
  deferrals: z.int().check(z.minimum(0), z.maximum(10)),
  enqueuedAt: z.number(),
});
export type NotificationMessage = z.infer<typeof NotificationMessage>;

/** Queue names carry the environment suffix (-staging, -production); dispatch by prefix. */
export const NOTIFY_QUEUE_PREFIX = 'app-ubr-notifications';
export const NOTIFY_DLQ_PREFIX = 'app-ubr-notifications-dlq';
