import { inArray, lte } from 'drizzle-orm';
import { idempotencyKeys } from '../db/schema/app';
import { changes, inChunks, type Job } from './job';

/**
 * Idempotency-Key records past their expiry (24 h after the first request; a minute for a
 * pending one whose request died). Expired rows are already ignored by the middleware; the
 * 5-minute purge keeps the encrypted response bodies (token pairs, API key secrets) short-lived.
 */
export const cleanupIdempotencyKeys: Job = ({ db, now }) =>
  inChunks(
    async () => {
      const expired = db.app.select({ id: idempotencyKeys.id }).from(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, new Date(now))).limit(1000);
      return changes(await db.app.delete(idempotencyKeys).where(inArray(idempotencyKeys.id, expired)).run());
    },
    { chunkSize: 1000, maxChunks: 5 },
  );
