import { and, desc, eq, gte, isNotNull, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { profiles } from '../../db/schema/app';
import { oneTimeTokens, roles, sessions, userRoles, users } from '../../db/schema/auth';
import { AppError, notFound } from '../../lib/errors';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';
import { emailTaken } from '../auth/auth.errors';
import { userWithin, type Ceiling } from '../roles/ceilings';
import { ceilingError } from '../roles/roles.errors';
import { loadProfiles, loadUserView, toUserView, userColumns, type UserView } from './users.service';

export interface UserListFilters {
  limit: number;
  cursor?: CursorData;
  email?: string;
  role?: string;
  createdFrom?: Date;
  createdTo?: Date;
  includeDeleted?: boolean;
}

/** Newest first by public id (UUIDv7: time-ordered, unique), so pages stay stable while rows are added. */
export async function listUsers(db: Databases, f: UserListFilters): Promise<Page<UserView>> {
  const where: SQL[] = [];
  if (!f.includeDeleted) where.push(isNull(users.deletedAt));
  if (f.cursor) where.push(lt(users.publicId, f.cursor.id));
  // instr() rather than LIKE: user input is matched literally, no wildcard escaping to get wrong.
  if (f.email) where.push(sql`instr(${users.email}, ${f.email.trim().toLowerCase()}) > 0`);
  if (f.createdFrom) where.push(gte(users.createdAt, f.createdFrom));
  if (f.createdTo) where.push(lte(users.createdAt, f.createdTo));
  if (f.role) {
    where.push(sql`EXISTS (SELECT 1 FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id WHERE ur.user_id = "users"."id" AND r.name = ${f.role})`);
  }
  const rows = await db.auth
    .select(userColumns)
    .from(users)
    .where(and(...where))
    .orderBy(desc(users.publicId))
    .limit(f.limit + 1);
  const page = rows.slice(0, f.limit);
  const names = await loadProfiles(db, page.map((r) => r.publicId));
  const last = page[page.length - 1];
  return {
    data: page.map((r) => toUserView(r, names.get(r.publicId) ?? null, f.includeDeleted)),
    nextCursor: rows.length > f.limit && last ? encodeCursor({ id: last.publicId }) : null,
  };
}

export interface UserChanges {
  fullName?: string | null;
  email?: string;
  emailVerified?: boolean;
}

export interface UpdateOutcome {
  user: UserView;
  /** Set when the email changed: the previous address (it gets a notice) and the sessions ended. */
  emailChange?: { oldEmail: string; sessionsEnded: number };
}

const beyondUser = () => ceilingError('This user holds permissions you do not: only a caller holding all of them can change this account');

/** 404 for no such (live) user, else 403: the target holds a permission the caller lacks. */
async function refuseBeyondCeiling(db: Databases, ceiling: Ceiling, publicId: string, includeDeleted = false): Promise<never> {
  const where = includeDeleted ? eq(users.publicId, publicId) : and(eq(users.publicId, publicId), isNull(users.deletedAt));
  const exists = await db.auth.select({ id: users.id }).from(users).where(where).get();
  if (!exists) throw notFound();
  throw beyondUser();
}

/**
 * Applies allowed changes. Profile (APP_DB) first, then credentials (AUTH_DB); if the second write
 * fails, the profile is put back, so an update is never half-applied. The target's permissions
 * must be within the caller's (checked in the AUTH_DB UPDATE itself, so a concurrent grant
 * cannot slip in between). A changed email is unverified again (unless the same request sets
 * `emailVerified`), and in the same batch every session of the user ends (but the caller's own
 * when it edits itself) and its pending one-time tokens die.
 */
/** If-Match: the write applies only while the user row is still at the version the caller read. */
export interface Precondition {
  updatedAt: string;
}

const unchangedSince = (precondition?: Precondition) => (precondition ? eq(users.updatedAt, new Date(precondition.updatedAt)) : undefined);

/** After a conditional write matched no row: 412 if the version moved on, else the caller's own diagnosis. */
async function assertStillAt(db: Databases, publicId: string, precondition?: Precondition): Promise<void> {
  if (!precondition) return;
  const row = await db.auth.select({ updatedAt: users.updatedAt }).from(users).where(eq(users.publicId, publicId)).get();
  if (row && row.updatedAt.getTime() !== new Date(precondition.updatedAt).getTime()) throw new AppError(412, 'PRECONDITION_FAILED');
}

/** Moves the row to a new version only if it is still at the one read; the new version conditions the rest of the write. */
async function claimVersion(db: Databases, ceiling: Ceiling, publicId: string, precondition: Precondition): Promise<Precondition> {
  // Never the version read (a write in the same millisecond would otherwise match it again).
  const claimedAt = new Date(Math.max(Date.now(), new Date(precondition.updatedAt).getTime() + 1));
  const claimed = await db.auth
    .update(users)
    .set({ updatedAt: claimedAt })
    .where(and(eq(users.publicId, publicId), isNull(users.deletedAt), userWithin(ceiling, sql`"users"."id"`), unchangedSince(precondition)))
    .returning({ id: users.id });
  if (claimed.length === 0) {
    await assertStillAt(db, publicId, precondition);
    throw beyondUser();
  }
  return { updatedAt: claimedAt.toISOString() };
}

export async function updateUser(
  db: Databases,
  ceiling: Ceiling,
  publicId: string,
  changes: UserChanges,
  caller: { sessionInternalId: number },
  precondition?: Precondition,
): Promise<UpdateOutcome> {
  const current = await loadUserView(db, publicId);
  if (!current) throw notFound();
  const within = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, publicId), userWithin(ceiling, sql`"users"."id"`))).get();
  if (!within) await refuseBeyondCeiling(db, ceiling, publicId);
  // If-Match: claim the version before anything is written (the profile is another database):
  // of concurrent writers that read the same version, one gets on, the others get 412.
  if (precondition) precondition = await claimVersion(db, ceiling, publicId, precondition);
  const now = new Date();
  const profileChanged = changes.fullName !== undefined && changes.fullName !== current.fullName;
  if (profileChanged) {
    await db.app.update(profiles).set({ fullName: changes.fullName, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
  }
  const authSet: Partial<typeof users.$inferInsert> = { updatedAt: now };
  const emailChanged = changes.email !== undefined && changes.email !== current.email;
  if (emailChanged) {
    authSet.email = changes.email;
    authSet.emailVerifiedAt = changes.emailVerified === true ? now : null;
  } else if (changes.emailVerified !== undefined && changes.emailVerified !== current.emailVerified) {
    authSet.emailVerifiedAt = changes.emailVerified ? now : null;
  }
  let sessionsEnded = 0;
  try {
    const updated = db.auth
      .update(users)
      .set(authSet)
      .where(and(eq(users.publicId, publicId), isNull(users.deletedAt), userWithin(ceiling, sql`"users"."id"`), unchangedSince(precondition)))
      .returning({ id: users.id });
    // Only when the UPDATE above went through in this very batch (its updated_at is this instant).
    const changedNow = sql`(SELECT id FROM ${users} WHERE public_id = ${publicId} AND updated_at = ${now.getTime()})`;
    if (emailChanged) {
      const [rows, ended] = await db.auth.batch([
        updated,
        db.auth
          .update(sessions)
          .set({ revokedAt: now, revokedReason: 'email_changed_by_admin' })
          .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} = ${changedNow}`, sql`${sessions.id} <> ${caller.sessionInternalId}`))
          .returning({ id: sessions.id }),
        db.auth
          .update(oneTimeTokens)
          .set({ usedAt: now })
          .where(and(isNull(oneTimeTokens.usedAt), sql`${oneTimeTokens.userId} = ${changedNow}`)),
      ]);
      if (rows.length === 0) {
        await assertStillAt(db, publicId, precondition);
        throw beyondUser();
      }
      sessionsEnded = ended.length;
    } else if ((await updated).length === 0) {
      await assertStillAt(db, publicId, precondition);
      throw beyondUser();
    }
  } catch (err) {
    if (profileChanged) {
      await db.app.update(profiles).set({ fullName: current.fullName }).where(eq(profiles.userPublicId, publicId));
    }
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  const user = await loadUserView(db, publicId);
  if (!user) throw notFound();
  return { user, ...(emailChanged ? { emailChange: { oldEmail: current.email, sessionsEnded } } : {}) };
}

// True when the user holds the admin role and is the only live admin left.
export const isLastAdmin = (userIdSql: SQL) => sql`(
  EXISTS (SELECT 1 FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id WHERE ur.user_id = ${userIdSql} AND r.name = ${BUILT_IN_ROLES.admin})
  AND (SELECT count(*) FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id JOIN ${users} u2 ON u2.id = ur.user_id
       WHERE r.name = ${BUILT_IN_ROLES.admin} AND u2.deleted_at IS NULL) <= 1)`;

/**
 * Soft delete: the user row, and every session of the user, in one AUTH_DB batch; the user's
 * tokens stop working on the next request. The last admin cannot be deleted (checked in the same
 * conditional UPDATE, so two concurrent deletions of the last two admins cannot both succeed).
 */
export async function softDeleteUser(db: Databases, ceiling: Ceiling, publicId: string, precondition?: Precondition): Promise<void> {
  const now = new Date();
  const [deleted] = await db.auth.batch([
    db.auth
      .update(users)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(users.publicId, publicId), isNull(users.deletedAt), sql`NOT ${isLastAdmin(sql`"users"."id"`)}`, userWithin(ceiling, sql`"users"."id"`), unchangedSince(precondition)))
      .returning({ id: users.id }),
    db.auth
      .update(sessions)
      .set({ revokedAt: now, revokedReason: 'user_deleted' })
      .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} IN (SELECT id FROM ${users} WHERE public_id = ${publicId} AND deleted_at = ${now.getTime()})`)),
  ]);
  if (deleted.length === 0) {
    const exists = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, publicId), isNull(users.deletedAt))).get();
    if (!exists) throw notFound();
    await assertStillAt(db, publicId, precondition);
    const within = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.id, exists.id), userWithin(ceiling, sql`"users"."id"`))).get();
    if (!within) await refuseBeyondCeiling(db, ceiling, publicId);
    throw new AppError(422, 'BUSINESS_RULE', { message: 'The last admin cannot be deleted' });
  }
  // The profile follows (hidden either way: reads start from AUTH_DB); cleanup purges both later.
  await db.app.update(profiles).set({ deletedAt: now, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
}

export async function restoreUser(db: Databases, ceiling: Ceiling, publicId: string): Promise<UserView> {
  const now = new Date();
  const restored = await db.auth
    .update(users)
    .set({ deletedAt: null, updatedAt: now })
    .where(and(eq(users.publicId, publicId), isNotNull(users.deletedAt), userWithin(ceiling, sql`"users"."id"`)))
    .returning({ id: users.id });
  if (restored.length === 0) {
    const deletedRow = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, publicId), isNotNull(users.deletedAt))).get();
    if (deletedRow) await refuseBeyondCeiling(db, ceiling, publicId, true);
  }
  const view = await loadUserView(db, publicId);
  if (!view) throw notFound();
  await db.app.update(profiles).set({ deletedAt: null, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
  return view;
}
