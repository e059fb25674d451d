import { deleteInboundSeenBefore } from '../features/webhooks/twilio.repository';
import { changes, DAY_MS, inChunks, type Job } from './job';

/**
 * How long an inbound Twilio MessageSid is remembered. Twilio retries a webhook within minutes;
 * a week also covers a captured request replayed later. After that a replayed STOP/START would
 * only repeat what the number's owner already said.
 */
export const TWILIO_INBOUND_RETENTION_MS = 7 * DAY_MS;

/** Deduplication rows of inbound Twilio messages past their retention. */
export const cleanupTwilioInbound: Job = ({ db, now }) =>
  inChunks(async () => changes(await deleteInboundSeenBefore(db.app, new Date(now - TWILIO_INBOUND_RETENTION_MS), 1000)), { chunkSize: 1000, maxChunks: 5 });
