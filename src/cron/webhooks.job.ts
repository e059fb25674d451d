import { deleteWebhookLogBefore } from '../features/webhooks-out/webhooks-out.retention';
import { DAY_MS, inChunks, type Job } from './job';

const CHUNK = 500;

/** Delivery attempts, and settled deliveries, older than RETENTION_WEBHOOK_DAYS. */
export const cleanupWebhookDeliveries: Job = ({ db, now, config }) =>
  inChunks(() => deleteWebhookLogBefore(db, new Date(now - config.webhooks.retentionDays * DAY_MS), CHUNK), { chunkSize: CHUNK, maxChunks: 20 });
