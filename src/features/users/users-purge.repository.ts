import { and, getTableColumns, gt, inArray, is, isNotNull, lt } from 'drizzle-orm';
import { SQLiteTable, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { AppDb, AuthDb } from '../../db/client';
import { USER_REF } from '../../db/columns';
import * as appSchema from '../../db/schema/app';
import { profiles } from '../../db/schema/app';
import { sessions, userRoles, users } from '../../db/schema/auth';

// ------------------------------------------------------------------ APP_DB: the user's data

export interface UserDataTable {
  table: SQLiteTable;
  id: SQLiteColumn;
  /** The userRef() column. */
  owner: SQLiteColumn;
}

/**
 * Every APP_DB table that holds a user's rows, found in the schema by its userRef() column (so
 * a new user-owned table is purged on account deletion without being listed anywhere), in the
 * order the purge must follow. test/cron/user-purge-coverage.test.ts holds it to the live schema.
 */
export const USER_DATA_TABLES: readonly UserDataTable[] = (() => {
  const found: UserDataTable[] = [];
  for (const table of Object.values(appSchema)) {
    if (!is(table, SQLiteTable)) continue;
    // Every table has the base columns (columns.ts), so `id` is its key.
    const { id, ...columns } = getTableColumns(table);
    const owner = Object.values(columns).find((c) => c.name === USER_REF);
    if (owner && id) found.push({ table, id, owner });
  }
  // Profile last: it is the marker the orphan sweep finds, so a purge cut short half-way is
  // finished by the next run (orphan-profiles.job.ts).
  return [...found.filter((t) => t.table !== profiles), ...found.filter((t) => t.table === profiles)];
})();

/** At most `limit` rows of `target` owned by these users (≤ 90 ids: D1 binds at most 100 parameters). */
export function deleteUserRows(db: AppDb, target: UserDataTable, userPublicIds: string[], limit: number): Promise<D1Result> {
  const batch = db.select({ id: target.id }).from(target.table).where(inArray(target.owner, userPublicIds)).limit(limit);
  return db.delete(target.table).where(inArray(target.id, batch));
}

/** A page of profiles by id after `afterId`, created before `createdBefore` (the orphan sweep's scan). */
export function profilesAfter(db: AppDb, afterId: number, createdBefore: Date, limit: number): Promise<{ id: number; userPublicId: string }[]> {
  return db
    .select({ id: profiles.id, userPublicId: profiles.userPublicId })
    .from(profiles)
    .where(and(gt(profiles.id, afterId), lt(profiles.createdAt, createdBefore)))
    .orderBy(profiles.id)
    .limit(limit);
}

// ------------------------------------------------------------------ AUTH_DB: the account

/** Which of these public ids (≤ 90) still have a user row, deleted or not. */
export async function existingUserPublicIds(db: AuthDb, publicIds: string[]): Promise<Set<string>> {
  const rows = await db.select({ publicId: users.publicId }).from(users).where(inArray(users.publicId, publicIds));
  return new Set(rows.map((r) => r.publicId));
}

/** Users soft-deleted before `cutoff`, longest deleted first. */
export async function findUsersDeletedBefore(db: AuthDb, cutoff: Date, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(isNotNull(users.deletedAt), lt(users.deletedAt, cutoff)))
    .orderBy(users.deletedAt)
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Those of `ids` still soft-deleted before `cutoff`: every purge statement re-checks, so a restore in between wins. */
const stillDeleted = (db: AuthDb, ids: number[], cutoff: Date) =>
  db
    .select({ id: users.id })
    .from(users)
    .where(and(inArray(users.id, ids), isNotNull(users.deletedAt), lt(users.deletedAt, cutoff)));

/** The condition on `sessions` for those users' sessions, for deleteSpentTokens (sessions.repository.ts). */
export const sessionsOfDeletedUsers = (db: AuthDb, ids: number[], cutoff: Date) => inArray(sessions.userId, stillDeleted(db, ids, cutoff));

/**
 * Sessions, role links and the users themselves, in one batch (≤ 90 ids). API keys, MFA and
 * one-time tokens follow by FK cascade. Returns the public ids actually deleted.
 */
export async function deleteDeletedUsers(db: AuthDb, ids: number[], cutoff: Date): Promise<{ sessions: number; roles: number; publicIds: string[] }> {
  const [s, r, u] = await db.batch([
    db.delete(sessions).where(sessionsOfDeletedUsers(db, ids, cutoff)),
    db.delete(userRoles).where(inArray(userRoles.userId, stillDeleted(db, ids, cutoff))),
    db
      .delete(users)
      .where(inArray(users.id, stillDeleted(db, ids, cutoff)))
      .returning({ publicId: users.publicId }),
  ]);
  return { sessions: s.meta.changes ?? 0, roles: r.meta.changes ?? 0, publicIds: u.map((row) => row.publicId) };
}
