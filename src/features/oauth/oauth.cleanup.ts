import { and, inArray, isNotNull, lt, notExists, or, eq } from 'drizzle-orm';
import type { AuthDb } from '../../db/client';
import { oauthCodes, oauthSpentRefreshTokens, oauthTokenFamilies } from '../../db/schema/auth-oauth';

/**
 * Bounded deletes for the cron job. Dead rows are kept a grace period first: a code replayed or
 * a spent refresh token presented within it still finds its record and revokes what it issued.
 */
export function deleteExpiredCodes(db: AuthDb, before: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: oauthCodes.id }).from(oauthCodes).where(lt(oauthCodes.expiresAt, before)).limit(limit);
  return db.delete(oauthCodes).where(inArray(oauthCodes.id, batch));
}

const deadFamily = (before: Date) => or(lt(oauthTokenFamilies.expiresAt, before), and(isNotNull(oauthTokenFamilies.revokedAt), lt(oauthTokenFamilies.revokedAt, before)))!;

export function deleteDeadFamilySpentTokens(db: AuthDb, before: Date, limit: number): Promise<D1Result> {
  const batch = db
    .select({ id: oauthSpentRefreshTokens.id })
    .from(oauthSpentRefreshTokens)
    .innerJoin(oauthTokenFamilies, eq(oauthTokenFamilies.id, oauthSpentRefreshTokens.familyId))
    .where(deadFamily(before))
    .limit(limit);
  return db.delete(oauthSpentRefreshTokens).where(inArray(oauthSpentRefreshTokens.id, batch));
}

export function deleteDeadFamilies(db: AuthDb, before: Date, limit: number): Promise<D1Result> {
  const spent = db.select({ id: oauthSpentRefreshTokens.id }).from(oauthSpentRefreshTokens).where(eq(oauthSpentRefreshTokens.familyId, oauthTokenFamilies.id));
  const batch = db
    .select({ id: oauthTokenFamilies.id })
    .from(oauthTokenFamilies)
    .where(and(deadFamily(before), notExists(spent)))
    .limit(limit);
  return db.delete(oauthTokenFamilies).where(inArray(oauthTokenFamilies.id, batch));
}
