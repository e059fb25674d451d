import { and, inArray, lt, ne } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { webhookAttempts, webhookDeliveries } from '../../db/schema/app';

/**
 * One bounded step of the retention job: up to `limit` attempts older than `before`, and up to
 * `limit` settled deliveries (pending ones stay, they are still being retried). Returns the
 * larger count, so the job keeps stepping while either table has work.
 */
export async function deleteWebhookLogBefore(db: Databases, before: Date, limit: number): Promise<number> {
  const oldAttempts = db.app.select({ id: webhookAttempts.id }).from(webhookAttempts).where(lt(webhookAttempts.createdAt, before)).orderBy(webhookAttempts.id).limit(limit);
  const oldDeliveries = db.app
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(lt(webhookDeliveries.createdAt, before), ne(webhookDeliveries.status, 'pending')))
    .orderBy(webhookDeliveries.id)
    .limit(limit);
  const [attempts, deliveries] = await db.app.batch([
    db.app.delete(webhookAttempts).where(inArray(webhookAttempts.id, oldAttempts)),
    db.app.delete(webhookDeliveries).where(inArray(webhookDeliveries.id, oldDeliveries)),
  ]);
  return Math.max(attempts.meta.changes ?? 0, deliveries.meta.changes ?? 0);
}
