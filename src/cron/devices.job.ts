import { changes, DAY_MS, inChunks, type Job } from './job';

/** FCM treats tokens unused for 270 days as expired; so do we, for both providers. */
export const DEVICE_STALE_MS = 270 * DAY_MS;

export const cleanupStaleDevices: Job = ({ env, now }) =>
  inChunks(
    async () =>
      changes(await env.APP_DB.prepare('DELETE FROM devices WHERE id IN (SELECT id FROM devices WHERE last_seen_at < ?1 LIMIT 1000)').bind(now - DEVICE_STALE_MS).run()),
    { chunkSize: 1000, maxChunks: 5 },
  );
