import { changes, DAY_MS, inChunks, type Job } from './job';

/**
 * How long an inbound Twilio MessageSid is remembered. Twilio retries a webhook within minutes;
 * a week also covers a captured request replayed later. After that a replayed STOP/START would
 * only repeat what the number's owner already said.
 */
export const TWILIO_INBOUND_RETENTION_MS = 7 * DAY_MS;

/** Deduplication rows of inbound Twilio messages past their retention. */
export const cleanupTwilioInbound: Job = ({ env, now }) =>
  inChunks(
    async () =>
      changes(
        await env.APP_DB.prepare('DELETE FROM twilio_inbound WHERE id IN (SELECT id FROM twilio_inbound WHERE created_at < ?1 LIMIT 1000)')
          .bind(now - TWILIO_INBOUND_RETENTION_MS)
          .run(),
      ),
    { chunkSize: 1000, maxChunks: 5 },
  );
