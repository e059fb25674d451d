import { inArray, lt } from 'drizzle-orm';
import type { AppDb } from '../../db/client';
import { twilioInbound } from '../../db/schema/app';

/** Deduplication rows of inbound Twilio messages received before `before`, at most `limit`. */
export function deleteInboundSeenBefore(db: AppDb, before: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: twilioInbound.id }).from(twilioInbound).where(lt(twilioInbound.createdAt, before)).limit(limit);
  return db.delete(twilioInbound).where(inArray(twilioInbound.id, batch));
}
