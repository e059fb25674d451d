import { and, eq, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { roles, userRoles, users } from '../../db/schema/auth';
import { AppError, notFound } from '../../lib/errors';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { assignableRole, userWithin, type Ceiling } from '../roles/ceilings';
import { ceilingError } from '../roles/roles.errors';
import { isLastAdmin } from './users-admin.service';

/**
 * Granting and revoking a user's roles, within the caller's ceiling (a role beyond the caller's
 * permissions, or a user beyond them, is refused) and never removing the last admin.
 */

async function resolveIds(db: Databases, userPublicId: string, rolePublicId: string) {
  const [user, role] = await Promise.all([
    db.auth.select({ id: users.id }).from(users).where(and(eq(users.publicId, userPublicId), isNull(users.deletedAt))).get(),
    db.auth.select({ id: roles.id, name: roles.name }).from(roles).where(eq(roles.publicId, rolePublicId)).get(),
  ]);
  if (!user || !role) throw notFound();
  return { userId: user.id, roleId: role.id, roleName: role.name };
}

/** The role may be handed out by the caller, and the target holds nothing beyond the caller (as SQL). */
const grantAllowed = (ceiling: Ceiling, userId: number, roleId: number) =>
  sql`EXISTS (SELECT 1 FROM ${roles} WHERE ${roles.id} = ${roleId} AND ${assignableRole(ceiling, sql`${roles.name}`)}) AND ${userWithin(ceiling, sql`${userId}`)}`;

async function refuseGrant(db: Databases, ceiling: Ceiling, userId: number, roleId: number, roleName: string): Promise<never> {
  const allowed = await db.auth.select({ ok: sql<number>`1` }).from(roles).where(and(eq(roles.id, roleId), grantAllowed(ceiling, userId, roleId))).get();
  if (allowed) throw new AppError(409, 'CONFLICT', { message: 'The role changed meanwhile; try again' });
  if (roleName === BUILT_IN_ROLES.admin && !ceiling.isAdmin) throw ceilingError('Only admins grant or revoke the admin role');
  throw ceilingError('You can only grant or revoke roles within your own permissions, to users within them');
}

/**
 * Idempotent grant: one conditional INSERT … SELECT that also checks the ceilings (the role
 * within the caller's permissions, admin only by admins, the target within the caller's
 * permissions). Returns the role's name for the audit record.
 */
export async function grantRole(db: Databases, ceiling: Ceiling, userPublicId: string, rolePublicId: string): Promise<string> {
  const { userId, roleId, roleName } = await resolveIds(db, userPublicId, rolePublicId);
  const now = new Date();
  const inserted = await db.auth
    .insert(userRoles)
    .select(
      db.auth
        .select({
          id: sql<number>`NULL`.as('id'),
          publicId: sql<string>`${uuidv7()}`.as('public_id'),
          createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
          updatedAt: sql<Date>`${now.getTime()}`.as('updated_at'),
          userId: sql<number>`${userId}`.as('user_id'),
          roleId: roles.id,
        })
        .from(roles)
        .where(and(eq(roles.id, roleId), grantAllowed(ceiling, userId, roleId))),
    )
    .onConflictDoNothing()
    .returning({ id: userRoles.id });
  if (inserted.length === 0) {
    const held = await db.auth.select({ id: userRoles.id }).from(userRoles).where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, roleId))).get();
    const allowed = await db.auth.select({ ok: sql<number>`1` }).from(roles).where(and(eq(roles.id, roleId), grantAllowed(ceiling, userId, roleId))).get();
    if (!held || !allowed) await refuseGrant(db, ceiling, userId, roleId, roleName);
  }
  return roleName;
}

/** Revoke, under the same ceilings; the last admin keeps the admin role (conditional DELETE, race-free). */
export async function revokeRole(db: Databases, ceiling: Ceiling, userPublicId: string, rolePublicId: string): Promise<string> {
  const { userId, roleId, roleName } = await resolveIds(db, userPublicId, rolePublicId);
  const guardLast = roleName === BUILT_IN_ROLES.admin ? sql`NOT ${isLastAdmin(sql`${userId}`)}` : sql`1`;
  const removed = await db.auth
    .delete(userRoles)
    .where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, roleId), guardLast, grantAllowed(ceiling, userId, roleId)))
    .returning({ id: userRoles.id });
  if (removed.length === 0) {
    const held = await db.auth.select({ id: userRoles.id }).from(userRoles).where(and(eq(userRoles.userId, userId), eq(userRoles.roleId, roleId))).get();
    const allowed = await db.auth.select({ ok: sql<number>`1` }).from(roles).where(and(eq(roles.id, roleId), grantAllowed(ceiling, userId, roleId))).get();
    if (!allowed) await refuseGrant(db, ceiling, userId, roleId, roleName);
    if (held) throw new AppError(422, 'BUSINESS_RULE', { message: 'The last admin cannot lose the admin role' });
  }
  return roleName;
}
