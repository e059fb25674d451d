import { sql } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { webhookAttempts, webhookDeliveries } from '../../db/schema/app';

/**
 * One bounded step of the retention job: up to `limit` attempts older than `before`, and up to
 * `limit` settled deliveries (pending ones stay, they are still being retried). Returns the
 * larger count, so the job keeps stepping while either table has work.
 */
export async function deleteWebhookLogBefore(db: Databases, before: Date, limit: number): Promise<number> {
  const cutoff = before.getTime();
  const [attempts, deliveries] = await db.app.batch([
    db.app.run(sql`DELETE FROM ${webhookAttempts} WHERE id IN (SELECT id FROM ${webhookAttempts} WHERE created_at < ${cutoff} ORDER BY id LIMIT ${limit})`),
    db.app.run(sql`DELETE FROM ${webhookDeliveries} WHERE id IN (SELECT id FROM ${webhookDeliveries} WHERE created_at < ${cutoff} AND status != 'pending' ORDER BY id LIMIT ${limit})`),
  ]);
  return Math.max(attempts.meta.changes ?? 0, deliveries.meta.changes ?? 0);
}
