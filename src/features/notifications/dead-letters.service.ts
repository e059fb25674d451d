import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { notifications, type NotificationChannel } from '../../db/schema/app';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';
import type { DeadLetterView } from './notifications.schemas';
import { toView } from './notifications.service';

export interface DeadLetterOptions {
  limit: number;
  cursor?: CursorData;
  channel?: NotificationChannel;
  kind?: string;
}

/**
 * Failed notifications across every user (the dead letters: retries spent or refused for good),
 * newest first, keyset-paginated on the public id (UUIDv7, time-ordered) through
 * `notifications_status_public_idx`. With `channel` or `kind` SQLite still walks that index
 * and filters, so a page costs at most the rows it skips.
 */
export async function listDeadLetters(db: Databases, options: DeadLetterOptions): Promise<Page<DeadLetterView>> {
  const where: SQL[] = [eq(notifications.status, 'failed')];
  if (options.cursor) where.push(lt(notifications.publicId, options.cursor.id));
  if (options.channel) where.push(eq(notifications.channel, options.channel));
  if (options.kind) where.push(eq(notifications.kind, options.kind));
  const rows = await db.app
    .select()
    .from(notifications)
    .where(and(...where))
    .orderBy(desc(notifications.publicId))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    data: page.map((row) => ({ ...toView(row), userId: row.userPublicId })),
    nextCursor: rows.length > options.limit && last ? encodeCursor({ id: last.publicId }) : null,
  };
}
