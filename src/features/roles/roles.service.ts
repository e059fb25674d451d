import { and, asc, eq, sql } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { roles } from '../../db/schema/auth';
import { AppError, notFound } from '../../lib/errors';
import { BUILT_IN_ROLES, grantedPermissions, PERMISSIONS } from '../../lib/permissions';
import { beyondCeiling, editableRole, roleWithin, type Ceiling } from './ceilings';
import { adminKeepsEveryPermission, builtInRoleFixed, ceilingError } from './roles.errors';

type RoleRow = typeof roles.$inferSelect;

export function toRoleView(r: RoleRow) {
  return {
    id: r.publicId,
    name: r.name,
    description: r.description,
    // What its holders get: for admin every registered permission, even one newer than its row.
    permissions: [...grantedPermissions([r.name], r.permissions)].sort(),
    builtIn: r.builtIn,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export async function listRoles(db: Databases) {
  return (await db.auth.select().from(roles).orderBy(asc(roles.name)).limit(500)).map(toRoleView);
}

async function find(db: Databases, publicId: string): Promise<RoleRow> {
  const row = await db.auth.select().from(roles).where(eq(roles.publicId, publicId)).get();
  if (!row) throw notFound();
  return row;
}

export async function getRole(db: Databases, publicId: string) {
  return toRoleView(await find(db, publicId));
}

export async function createRole(db: Databases, ceiling: Ceiling, input: { name: string; description?: string; permissions: string[] }) {
  const beyond = beyondCeiling(ceiling, input.permissions);
  if (beyond.length > 0) throw ceilingError(`You do not hold: ${beyond.join(', ')}`);
  try {
    const [row] = await db.auth
      .insert(roles)
      .values({ name: input.name, description: input.description ?? '', permissions: [...new Set(input.permissions)] })
      .returning();
    return toRoleView(row!);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError(409, 'CONFLICT', { message: 'A role with this name already exists' });
    throw err;
  }
}

/**
 * Built-in roles keep their names; the admin role keeps every permission (an admin locked out of
 * role management could never repair it through the API). Ceilings: the new permissions and the
 * role's current ones within the caller's, not a role the caller holds, admin only by admins —
 * the last three checked in the UPDATE itself.
 */
export async function updateRole(db: Databases, ceiling: Ceiling, publicId: string, input: { name: string; description: string; permissions: string[] }) {
  const current = await find(db, publicId);
  const permissions = [...new Set(input.permissions)];
  if (current.builtIn && input.name !== current.name) throw builtInRoleFixed('renamed');
  if (current.name === BUILT_IN_ROLES.admin && PERMISSIONS.some((p) => !permissions.includes(p))) {
    throw adminKeepsEveryPermission();
  }
  const beyond = beyondCeiling(ceiling, permissions);
  if (beyond.length > 0) throw ceilingError(`You do not hold: ${beyond.join(', ')}`);
  try {
    const [row] = await db.auth
      .update(roles)
      .set({ name: input.name, description: input.description, permissions, updatedAt: new Date() })
      .where(and(eq(roles.id, current.id), roleWithin(ceiling), editableRole(ceiling, sql`${roles.id}`, sql`${roles.name}`)))
      .returning();
    if (!row) throw ceilingError('You cannot change a role you hold, the admin role, or a role with permissions you lack');
    return toRoleView(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError(409, 'CONFLICT', { message: 'A role with this name already exists' });
    throw err;
  }
}

export async function deleteRole(db: Databases, ceiling: Ceiling, publicId: string): Promise<string> {
  const current = await find(db, publicId);
  if (current.builtIn) throw builtInRoleFixed('deleted');
  // user_roles rows go with it (ON DELETE CASCADE within AUTH_DB): holders lose it on their next request.
  const removed = await db.auth
    .delete(roles)
    .where(and(eq(roles.id, current.id), roleWithin(ceiling), editableRole(ceiling, sql`${roles.id}`, sql`${roles.name}`)))
    .returning({ id: roles.id });
  if (removed.length === 0) {
    if (!(await db.auth.select({ id: roles.id }).from(roles).where(eq(roles.id, current.id)).get())) throw notFound();
    throw ceilingError('You cannot delete a role you hold or a role with permissions you lack');
  }
  return current.name;
}
