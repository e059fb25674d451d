import { and, desc, eq, gte, isNotNull, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { profiles } from '../../db/schema/app';
import { roles, sessions, userRoles, users } from '../../db/schema/auth';
import { AppError } from '../../lib/errors';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';
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

/**
 * Applies allowed changes. Profile (APP_DB) first, then credentials (AUTH_DB); if the second write
 * fails, the profile is put back, so an update is never half-applied.
 */
export async function updateUser(db: Databases, publicId: string, changes: UserChanges): Promise<UserView> {
  const current = await loadUserView(db, publicId);
  if (!current) throw new AppError(404, 'NOT_FOUND');
  const now = new Date();
  const profileChanged = changes.fullName !== undefined && changes.fullName !== current.fullName;
  if (profileChanged) {
    await db.app.update(profiles).set({ fullName: changes.fullName, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
  }
  const authSet: Partial<typeof users.$inferInsert> = { updatedAt: now };
  if (changes.email !== undefined && changes.email !== current.email) authSet.email = changes.email;
  if (changes.emailVerified !== undefined && changes.emailVerified !== current.emailVerified) {
    authSet.emailVerifiedAt = changes.emailVerified ? now : null;
  }
  try {
    await db.auth.update(users).set(authSet).where(and(eq(users.publicId, publicId), isNull(users.deletedAt)));
  } catch (err) {
    if (profileChanged) {
      await db.app.update(profiles).set({ fullName: current.fullName }).where(eq(profiles.userPublicId, publicId));
    }
    if (isUniqueViolation(err)) throw new AppError(409, 'EMAIL_TAKEN');
    throw err;
  }
  const updated = await loadUserView(db, publicId);
  if (!updated) throw new AppError(404, 'NOT_FOUND');
  return updated;
}

// True when the user holds the admin role and is the only live admin left.
const isLastAdmin = (userIdSql: SQL) => sql`(
  EXISTS (SELECT 1 FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id WHERE ur.user_id = ${userIdSql} AND r.name = ${BUILT_IN_ROLES.admin})
  AND (SELECT count(*) FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id JOIN ${users} u2 ON u2.id = ur.user_id
       WHERE r.name = ${BUILT_IN_ROLES.admin} AND u2.deleted_at IS NULL) <= 1)`;

/**
 * Soft delete: the user row, and every session of the user, in one AUTH_DB batch; the user's
 * tokens stop working on the next request. The last admin cannot be deleted (checked in the same
 * conditional UPDATE, so two concurrent deletions of the last two admins cannot both succeed).
 */
export async function softDeleteUser(db: Databases, publicId: string): Promise<void> {
  const now = new Date();
  const [deleted] = await db.auth.batch([
    db.auth
      .update(users)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(users.publicId, publicId), isNull(users.deletedAt), sql`NOT ${isLastAdmin(sql`"users"."id"`)}`))
      .returning({ id: users.id }),
    db.auth
      .update(sessions)
      .set({ revokedAt: now, revokedReason: 'user_deleted' })
      .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} IN (SELECT id FROM ${users} WHERE public_id = ${publicId} AND deleted_at = ${now.getTime()})`)),
  ]);
  if (deleted.length === 0) {
    const exists = await db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, publicId), isNull(users.deletedAt))).get();
    if (!exists) throw new AppError(404, 'NOT_FOUND');
    throw new AppError(422, 'BUSINESS_RULE', { message: 'The last admin cannot be deleted' });
  }
  // The profile follows (hidden either way: reads start from AUTH_DB); cleanup purges both later.
  await db.app.update(profiles).set({ deletedAt: now, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
}

export async function restoreUser(db: Databases, publicId: string): Promise<UserView> {
  const now = new Date();
  await db.auth.update(users).set({ deletedAt: null, updatedAt: now }).where(and(eq(users.publicId, publicId), isNotNull(users.deletedAt)));
  const view = await loadUserView(db, publicId);
  if (!view) throw new AppError(404, 'NOT_FOUND');
  await db.app.update(profiles).set({ deletedAt: null, updatedAt: now }).where(eq(profiles.userPublicId, publicId));
  return view;
}

async function resolveIds(db: Databases, userPublicId: string, rolePublicId: string) {
  const [user, role] = await Promise.all([
    db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, userPublicId), isNull(users.deletedAt))).get(),
    db.auth.select({ id: roles.id, name: roles.name }).from(roles).where(eq(roles.publicId, rolePublicId)).get(),
  ]);
  if (!user || !role) throw new AppError(404, 'NOT_FOUND');
  return { userId: user.id, roleId: role.id, roleName: role.name };
}

/** Idempotent grant. Returns the role's name for the audit record. */
export async function grantRole(db: Databases, userPublicId: string, rolePublicId: string): Promise<string> {
  const { userId, roleId, roleName } = await resolveIds(db, userPublicId, rolePublicId);
  await db.auth.insert(userRoles).values({ publicId: uuidv7(), userId, roleId }).onConflictDoNothing();
  return roleName;
}

/** Revoke; the last admin keeps the admin role (conditional DELETE, race-free). */
export async function revokeRole(db: Databases, userPublicId: string, rolePublicId: string): Promise<string> {
  const { userId, roleId, roleName } = await resolveIds(db, userPublicId, rolePublicId);
  const guardLast = roleName === BUILT_IN_ROLES.admin ? sql`NOT ${isLastAdmin(sql`${userId}`)}` : sql`1`;
  const removed = await db.auth
    .delete(userRoles)
    .where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, roleId), guardLast))
    .returning({ id: userRoles.id });
  if (removed.length === 0) {
    const held = await db.auth.select({ id: userRoles.id }).from(userRoles).where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, roleId))).get();
    if (held) throw new AppError(422, 'BUSINESS_RULE', { message: 'The last admin cannot lose the admin role' });
  }
  return roleName;
}
