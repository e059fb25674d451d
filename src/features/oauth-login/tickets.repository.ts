import { inArray, lt } from 'drizzle-orm';
import type { AuthDb } from '../../db/client';
import { oauthTickets } from '../../db/schema/auth';

/** Expired social sign-in tickets (flows, spent nonces, exchange codes, pending links), at most `limit`. */
export function deleteExpiredOAuthTickets(db: AuthDb, now: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: oauthTickets.id }).from(oauthTickets).where(lt(oauthTickets.expiresAt, now)).limit(limit);
  return db.delete(oauthTickets).where(inArray(oauthTickets.id, batch));
}
