import { and, desc, eq, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { uuidv7 } from '../../lib/uuid';
import * as z from 'zod/mini';
import type { Databases } from '../../db/client';
import { notifications, smsConsents, type NotificationChannel, type NotificationStatus } from '../../db/schema/app';
import { users } from '../../db/schema/auth';
import { sha256Hex } from '../../lib/crypto';
import { AppError, notFound, type ErrorDetail } from '../../lib/errors';
import { log, maskEmail } from '../../lib/log';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';
import { issuesToDetails } from '../../lib/validation';
import type { NotificationMessage } from '../../queues/notification-message';
import { insertQueued, markEnqueueFailed } from './notification-lifecycle';
import { NotifyInput, type NotificationView, type SendNotificationBody } from './notifications.schemas';

export interface NotifyDeps {
  db: Databases;
  env: Pick<CloudflareBindings, 'NOTIFY_QUEUE'>;
}

export interface PreparedNotification {
  id: string;
  channel: NotificationChannel;
  status: NotificationStatus;
  /** false: the idempotency key was already used; nothing new is enqueued. */
  created: boolean;
  message: NotificationMessage;
}

export interface NotifyResult {
  notifications: { id: string; channel: NotificationChannel; status: NotificationStatus; duplicate: boolean }[];
}

export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}***${phone.slice(-2)}`;
}

/** The address a channel uses, as given by the caller (email may be resolved later from the account). */
function recipientOf(input: NotifyInput, channel: NotificationChannel): string | undefined {
  if (channel === 'email') return input.to?.email;
  if (channel === 'sms_transactional' || channel === 'sms_promotional') return input.to?.phone;
  return undefined;
}

/**
 * Validates, assigns an idempotency key per channel and records each notification as
 * `queued` in APP_DB (one D1 batch). A key already used returns the existing record.
 * Exposed for tests that drive the consumer directly; business code calls notify().
 */
export async function prepareNotifications(db: Databases, raw: unknown): Promise<PreparedNotification[]> {
  const parsed = z.safeParse(NotifyInput, raw);
  if (!parsed.success) throw new AppError(400, 'VALIDATION_ERROR', { details: issuesToDetails(parsed.error.issues) });
  const input = parsed.data;
  const baseKey = input.idempotencyKey ?? uuidv7();
  const now = new Date();
  const drafts = await Promise.all(
    input.channels.map(async (channel) => {
      const to = recipientOf(input, channel);
      const message: NotificationMessage = {
        v: 1,
        id: uuidv7(),
        idempotencyKey: `${baseKey}:${channel}`,
        userId: input.userId,
        channel,
        category: input.category,
        kind: input.kind,
        to,
        content: input.content,
        deferrals: 0,
        enqueuedAt: now.getTime(),
      };
      const inApp = channel === 'in_app';
      const insert = insertQueued(db, {
        publicId: message.id,
        createdAt: now,
        updatedAt: now,
        userPublicId: input.userId,
        channel,
        category: input.category,
        kind: input.kind,
        idempotencyKey: message.idempotencyKey,
        title: input.content.title,
        // Only the inbox keeps a body: a reset link or a code never rests in the database.
        body: inApp ? input.content.body : null,
        data: inApp ? (input.content.data ?? null) : null,
        recipientMasked: to ? (channel === 'email' ? maskEmail(to) : maskPhone(to)) : null,
        recipientHash: to ? await sha256Hex(to.toLowerCase()) : null,
      });
      return { message, insert };
    }),
  );
  const results = await db.app.batch(drafts.map((d) => d.insert) as unknown as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  const createdIds = new Set((results as { id: string }[][]).flat().map((r) => r.id));
  const duplicateKeys = drafts.filter((d) => !createdIds.has(d.message.id)).map((d) => d.message.idempotencyKey);
  const existing = duplicateKeys.length
    ? await db.app
        .select({ id: notifications.publicId, key: notifications.idempotencyKey, status: notifications.status, userPublicId: notifications.userPublicId })
        .from(notifications)
        .where(inArray(notifications.idempotencyKey, duplicateKeys))
    : [];
  const byKey = new Map(existing.map((e) => [e.key, e]));
  return drafts.map(({ message }) => {
    if (createdIds.has(message.id)) return { id: message.id, channel: message.channel, status: 'queued' as const, created: true, message };
    const prior = byKey.get(message.idempotencyKey);
    // A key reused for another user is a caller bug; never reveal or touch the other record.
    if (!prior || prior.userPublicId !== input.userId) {
      throw new AppError(409, 'CONFLICT', { message: 'Idempotency key already used', reason: 'idempotency key reused across users' });
    }
    return { id: prior.id, channel: message.channel, status: prior.status, created: false, message: { ...message, id: prior.id } };
  });
}

/**
 * The one producer API. Validates the notification against the shared message schema,
 * records it `queued` in APP_DB under an idempotency key, and sends it to NOTIFY_QUEUE;
 * delivery happens in the queue consumer. Business code never calls a provider.
 * @example await notify({ db, env }, { userId, channels: ['email'], category: 'security',
 *   kind: 'auth.password_reset', content: { title: 'Reset your password', body } })
 */
export async function notify(deps: NotifyDeps, input: z.input<typeof NotifyInput>): Promise<NotifyResult> {
  const prepared = await prepareNotifications(deps.db, input);
  const fresh = prepared.filter((p) => p.created);
  if (fresh.length > 0) {
    try {
      await deps.env.NOTIFY_QUEUE.sendBatch(fresh.map((p) => ({ body: p.message, contentType: 'json' as const })));
    } catch (err) {
      log('error', 'notification enqueue failed', { ids: fresh.map((p) => p.id), error: String(err) });
      await markEnqueueFailed(deps.db, fresh.map((p) => p.id), new Date()).catch(() => log('error', 'could not mark notifications failed; the stale sweep will', { count: fresh.length }));
      throw new AppError(503, 'SERVICE_UNAVAILABLE', { reason: 'notification queue unavailable', cause: err });
    }
  }
  return { notifications: prepared.map((p) => ({ id: p.id, channel: p.channel, status: p.created ? 'queued' : p.status, duplicate: !p.created })) };
}

/**
 * The operator route's send (`POST /notifications`): only to an existing, non-deleted user, and
 * only at that user's own addresses, so the API is no relay to arbitrary inboxes or phones.
 * `to.email` must be the account's email (or left out: the consumer uses the account's);
 * `to.phone` a number the user recorded themselves (their SMS consent). Else 422, per field.
 */
export async function sendToUser(deps: NotifyDeps, input: SendNotificationBody): Promise<NotifyResult> {
  const target = await deps.db.auth.select({ email: users.email }).from(users).where(and(eq(users.publicId, input.userId), isNull(users.deletedAt))).get();
  if (!target) throw notFound();
  const details: ErrorDetail[] = [];
  if (input.to?.email !== undefined && input.to.email.toLowerCase() !== target.email.toLowerCase()) {
    details.push({ field: 'to.email', message: "Not the user's own email address (leave it out to use the account's)" });
  }
  if (input.to?.phone !== undefined) {
    const own = await deps.db.app
      .select({ id: smsConsents.id })
      .from(smsConsents)
      .where(and(eq(smsConsents.phone, input.to.phone), eq(smsConsents.userPublicId, input.userId)))
      .get();
    if (!own) details.push({ field: 'to.phone', message: 'Not a phone number this user has recorded' });
  }
  if (details.length > 0) throw new AppError(422, 'BUSINESS_RULE', { message: "Notifications go only to the user's own addresses", details });
  return notify(deps, input);
}

type Row = typeof notifications.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toView(row: Row): NotificationView {
  return {
    id: row.publicId,
    channel: row.channel,
    category: row.category,
    kind: row.kind,
    status: row.status,
    title: row.title,
    body: row.body,
    data: row.data ?? null,
    recipient: row.recipientMasked,
    attempts: row.attempts,
    reason: row.reason,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: iso(row.deliveredAt),
    failedAt: iso(row.failedAt),
    readAt: iso(row.readAt),
  };
}

export interface ListOptions {
  limit: number;
  cursor?: CursorData;
  status?: NotificationStatus;
  channel?: NotificationChannel;
  unread?: boolean;
}

/** One user's notifications, newest first (UUIDv7 ids sort by time), keyset-paginated. */
export async function listNotifications(db: Databases, userPublicId: string, options: ListOptions): Promise<Page<NotificationView>> {
  const where: SQL[] = [eq(notifications.userPublicId, userPublicId)];
  if (options.cursor) where.push(lt(notifications.publicId, options.cursor.id));
  if (options.status) where.push(eq(notifications.status, options.status));
  if (options.channel) where.push(eq(notifications.channel, options.channel));
  if (options.unread === true) where.push(isNull(notifications.readAt));
  if (options.unread === false) where.push(sql`${notifications.readAt} IS NOT NULL`);
  const rows = await db.app
    .select()
    .from(notifications)
    .where(and(...where))
    .orderBy(desc(notifications.publicId))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return { data: page.map(toView), nextCursor: rows.length > options.limit && last ? encodeCursor({ id: last.publicId }) : null };
}

/** Marks one of the caller's notifications read; idempotent. False when it is not theirs. */
export async function markRead(db: Databases, userPublicId: string, id: string): Promise<boolean> {
  const now = new Date();
  const updated = await db.app
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, ${now.getTime()})` })
    .where(and(eq(notifications.publicId, id), eq(notifications.userPublicId, userPublicId)))
    .returning({ id: notifications.id });
  return updated.length > 0;
}

/** Marks every unread notification of the caller read, in one statement. */
export async function markAllRead(db: Databases, userPublicId: string): Promise<number> {
  const res = await db.app
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(eq(notifications.userPublicId, userPublicId), isNull(notifications.readAt)))
    .run();
  return res.meta.changes;
}
