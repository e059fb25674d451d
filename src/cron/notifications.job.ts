import { expireStale, purgeSettled, RETENTION_CHUNK, STALE_SWEEP_CHUNK } from '../features/notifications/notification-lifecycle';
import { DAY_MS, inChunks, type Job } from './job';

// The threshold is the lifecycle's; importers (tests) keep finding it here.
export { STALE_AFTER_MS } from '../features/notifications/notification-lifecycle';

/** Settled notifications (delivered, suppressed, failed) older than RETENTION_NOTIFICATIONS_DAYS. */
export const cleanupNotifications: Job = ({ db, now, config }) =>
  inChunks(() => purgeSettled(db, new Date(now - config.retention.notificationsDays * DAY_MS)), { chunkSize: RETENTION_CHUNK, maxChunks: 20 });

/**
 * The guarantee that every notification ends settled: records still queued or sending long
 * after their last possible retry or deferral are marked failed (see expireStale).
 */
export const failStaleNotifications: Job = ({ db, now }) => inChunks(() => expireStale(db, new Date(now)), { chunkSize: STALE_SWEEP_CHUNK, maxChunks: 10 });
