import { eq } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { twilioInbound } from '../../db/schema/app';

/**
 * Records the message as seen; false when it already was (a Twilio retry or a replayed request).
 * One INSERT … ON CONFLICT DO NOTHING on a unique SID: of parallel deliveries exactly one wins.
 */
export async function claimMessage(db: Databases, messageSid: string): Promise<boolean> {
  const rows = await db.app.insert(twilioInbound).values({ messageSid }).onConflictDoNothing({ target: twilioInbound.messageSid }).returning({ id: twilioInbound.id });
  return rows.length > 0;
}

/** Forgets a claimed message whose effect could not be applied, so Twilio's retry applies it. */
export async function releaseMessage(db: Databases, messageSid: string): Promise<void> {
  await db.app.delete(twilioInbound).where(eq(twilioInbound.messageSid, messageSid));
}
