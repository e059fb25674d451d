import * as z from 'zod/mini';
import { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_STATUSES, type NotificationCategory } from '../../db/schema/app';
import { Cursor, Limit, pageSchema, QueryBool } from '../../lib/pagination';
import { EmailAddress, IdempotencyKey, Kind, NotificationContent, PhoneNumber } from '../../queues/notification-message';
import type { AuditActionList } from '../../lib/audit';
import { definePermissions } from '../../lib/permissions';

export const NOTIFICATIONS_PERMISSIONS = definePermissions(['notifications:read', 'notifications:write']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    notifications: (typeof NOTIFICATIONS_PERMISSIONS)[number];
  }
}

export const NOTIFICATIONS_AUDIT = ['notification.send', 'notification.preferences_update', 'notification.sms_consent'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    notifications: (typeof NOTIFICATIONS_AUDIT)[number];
  }
}

export const Channel = z.enum(NOTIFICATION_CHANNELS);
export const Category = z.enum(NOTIFICATION_CATEGORIES);

const SMS_MAX_BODY = 1600;

const notifyShape = {
  userId: z.uuid({ error: 'Invalid user id' }),
  channels: z.array(Channel).check(
    z.minLength(1, 'At least one channel'),
    z.maxLength(NOTIFICATION_CHANNELS.length),
    z.refine((c) => new Set(c).size === c.length, 'Channels must be unique'),
  ),
  category: Category,
  kind: Kind,
  to: z.optional(z.strictObject({ email: z.optional(EmailAddress), phone: z.optional(PhoneNumber) })),
  content: NotificationContent,
  /** Same key, same notification: a retried call never enqueues twice. */
  idempotencyKey: z.optional(IdempotencyKey),
};

type NotifyShape = z.output<z.ZodMiniObject<typeof notifyShape>>;

function channelRules<T extends Pick<NotifyShape, 'channels' | 'category' | 'to' | 'content'>>(input: T, ctx: z.core.$RefinementCtx<T>): void {
  const sms = input.channels.filter((c) => c.startsWith('sms_'));
  if (sms.length > 0 && !input.to?.phone) ctx.issues.push({ code: 'custom', path: ['to', 'phone'], message: 'SMS channels need a phone number', input });
  if (sms.length > 0 && input.content.body.length > SMS_MAX_BODY) {
    ctx.issues.push({ code: 'custom', path: ['content', 'body'], message: `SMS bodies are at most ${SMS_MAX_BODY} characters`, input });
  }
  // Marketing never rides the transactional sender, and nothing else rides the promotional one.
  if (input.category === 'marketing' && input.channels.includes('sms_transactional')) {
    ctx.issues.push({ code: 'custom', path: ['channels'], message: 'Marketing SMS must use sms_promotional', input });
  }
  if (input.category !== 'marketing' && input.channels.includes('sms_promotional')) {
    ctx.issues.push({ code: 'custom', path: ['channels'], message: 'sms_promotional carries marketing only', input });
  }
}

/** The one producer API's input (`notify()`), for business code. */
export const NotifyInput = z.strictObject(notifyShape).check(z.superRefine(channelRules));
export type NotifyInput = z.infer<typeof NotifyInput>;

/**
 * What an operator may send through `POST /notifications`: no `security` category (those notices
 * come from the system alone: a forged "your password was reset" is phishing with our name on
 * it, and security mail ignores the user's preferences). The service also keeps `to` at the
 * user's own addresses (sendToUser).
 */
export const OPERATOR_CATEGORIES = ['transactional', 'marketing'] as const satisfies readonly NotificationCategory[];
export const OperatorCategory = z.enum(OPERATOR_CATEGORIES, {
  error: 'Expected transactional or marketing (security notices are sent by the system only)',
});
export const SendNotificationBody = z.strictObject({ ...notifyShape, category: OperatorCategory }).check(z.superRefine(channelRules));
export type SendNotificationBody = z.infer<typeof SendNotificationBody>;

export const NotificationResponse = z.object({
  id: z.string(),
  channel: Channel,
  category: Category,
  kind: z.string(),
  status: z.enum(NOTIFICATION_STATUSES),
  title: z.string(),
  body: z.nullable(z.string()),
  data: z.nullable(z.record(z.string(), z.string())),
  recipient: z.nullable(z.string()),
  attempts: z.number(),
  reason: z.nullable(z.string()),
  createdAt: z.string(),
  deliveredAt: z.nullable(z.string()),
  failedAt: z.nullable(z.string()),
  readAt: z.nullable(z.string()),
});
export type NotificationView = z.infer<typeof NotificationResponse>;

export const NotificationPage = pageSchema(NotificationResponse);

export const ListQuery = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  status: z.optional(z.enum(NOTIFICATION_STATUSES)),
  channel: z.optional(Channel),
  unread: QueryBool,
});

export const NotificationIdParams = z.object({ id: z.uuid({ error: 'Invalid notification id' }) });
export const UserIdParams = z.object({ id: z.uuid({ error: 'Invalid user id' }) });

export const SendResponse = z.object({
  notifications: z.array(z.object({ id: z.string(), channel: Channel, status: z.enum(NOTIFICATION_STATUSES), duplicate: z.boolean() })),
});

export const ReadAllResponse = z.object({ updated: z.number() });

/** A dead letter (GET /notifications/dead-letters): the notification and the user it was for. */
export const DeadLetterResponse = z.extend(NotificationResponse, { userId: z.string() });
export type DeadLetterView = z.infer<typeof DeadLetterResponse>;
export const DeadLetterPage = pageSchema(DeadLetterResponse);
export const DeadLetterQuery = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  channel: z.optional(Channel),
  kind: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
});
