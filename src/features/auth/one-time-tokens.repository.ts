import { inArray, lt } from 'drizzle-orm';
import type { AuthDb } from '../../db/client';
import { oneTimeTokens } from '../../db/schema/auth';

/** Expired verification, reset and email-change tokens (used ones expire just the same), at most `limit`. */
export function deleteExpiredOneTimeTokens(db: AuthDb, now: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: oneTimeTokens.id }).from(oneTimeTokens).where(lt(oneTimeTokens.expiresAt, now)).limit(limit);
  return db.delete(oneTimeTokens).where(inArray(oneTimeTokens.id, batch));
}
