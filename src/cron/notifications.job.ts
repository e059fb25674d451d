import { changes, DAY_MS, HOUR_MS, inChunks, type Job } from './job';

const CHUNK = 1000;
/** Longer than the whole retry horizon (8 retries ≈ 1 h) and a deferral's 12 h delay. */
export const STALE_AFTER_MS = 6 * HOUR_MS;

/** Settled notifications (delivered, suppressed, failed) older than RETENTION_NOTIFICATIONS_DAYS. */
export const cleanupNotifications: Job = ({ env, now, config }) =>
  inChunks(
    async () =>
      changes(
        await env.APP_DB.prepare(
          `DELETE FROM notifications WHERE id IN (
             SELECT id FROM notifications WHERE status IN ('delivered', 'suppressed', 'failed') AND created_at < ?1 LIMIT ${CHUNK})`,
        )
          .bind(now - config.retention.notificationsDays * DAY_MS)
          .run(),
      ),
    { chunkSize: CHUNK, maxChunks: 20 },
  );

/**
 * The guarantee that every notification ends settled: a record still queued or sending long
 * after its last possible retry or deferral (its message was lost, or the enqueue failed
 * half-way) is marked failed with reason `stale`, so it is visible and never silently pending.
 */
export const failStaleNotifications: Job = ({ env, now }) =>
  inChunks(
    async () =>
      changes(
        await env.APP_DB.prepare(
          `UPDATE notifications SET status = 'failed', reason = 'stale: no delivery outcome', failed_at = ?1, updated_at = ?1, lease_until = NULL
           WHERE id IN (
             SELECT id FROM notifications WHERE status IN ('queued', 'sending') AND updated_at < ?2 AND coalesce(not_before, 0) < ?3 LIMIT 500)`,
        )
          .bind(now, now - STALE_AFTER_MS, now - HOUR_MS)
          .run(),
      ),
    { chunkSize: 500, maxChunks: 10 },
  );
