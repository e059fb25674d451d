import { sql, type SQL } from 'drizzle-orm';
import { roles, userRoles } from '../../db/schema/auth';
import { BUILT_IN_ROLES, PERMISSIONS } from '../../lib/permissions';
import type { AuthContext } from '../../middleware/auth';

/**
 * Authorization ceilings: a caller hands out only what it holds. The checks are SQL fragments
 * placed in the WHERE clause of the very statement that writes (conditional INSERT / UPDATE /
 * DELETE), so a concurrent change of a role or of a user's roles cannot slip between a check
 * and the write. The admin (holding the admin role, so every permission, through a session) is
 * the only caller without a ceiling.
 */
export interface Ceiling {
  /** The caller's effective permissions (an API key's are already intersected with its owner's). */
  permissions: string[];
  /** Holds the built-in admin role and (not an API key narrowed below it) every permission: may change the admin role and roles it holds. */
  isAdmin: boolean;
  userInternalId: number;
}

export function ceilingOf(auth: AuthContext): Ceiling {
  const permissions = [...auth.permissions].sort();
  return {
    permissions,
    isAdmin: auth.roles.includes(BUILT_IN_ROLES.admin) && PERMISSIONS.every((p) => auth.permissions.has(p)),
    userInternalId: auth.userInternalId,
  };
}

/** Permissions of `permissions` the caller lacks (empty: within the ceiling). */
export function beyondCeiling(ceiling: Ceiling, permissions: readonly string[]): string[] {
  if (ceiling.isAdmin) return [];
  return [...new Set(permissions)].filter((p) => !ceiling.permissions.includes(p)).sort();
}

const callerSet = (ceiling: Ceiling) => sql`(SELECT value FROM json_each(${JSON.stringify(ceiling.permissions)}))`;

/** SQL: the role (JSON permissions column of `roles`) holds nothing beyond the caller's permissions. */
export function roleWithin(ceiling: Ceiling, permissionsColumn: SQL | typeof roles.permissions = roles.permissions): SQL {
  if (ceiling.isAdmin) return sql`1`;
  return sql`NOT EXISTS (SELECT 1 FROM json_each(${permissionsColumn}) rp WHERE rp.value NOT IN ${callerSet(ceiling)})`;
}

/**
 * SQL: the user (internal id expression) holds nothing beyond the caller's permissions. The admin
 * role counts as every registered permission, whatever its row says (admin holds them by rule).
 */
export function userWithin(ceiling: Ceiling, userIdSql: SQL): SQL {
  if (ceiling.isAdmin) return sql`1`;
  return sql`NOT EXISTS (SELECT 1 FROM ${userRoles} cu JOIN ${roles} cr ON cr.id = cu.role_id,
    json_each(iif(cr.name = ${BUILT_IN_ROLES.admin}, ${JSON.stringify(PERMISSIONS)}, cr.permissions)) cp
    WHERE cu.user_id = ${userIdSql} AND cp.value NOT IN ${callerSet(ceiling)})`;
}

/** SQL: the caller does not hold the role (internal id expression), and it is not admin unless the caller is. */
export function editableRole(ceiling: Ceiling, roleIdSql: SQL, roleNameSql: SQL): SQL {
  if (ceiling.isAdmin) return sql`1`;
  return sql`(${roleNameSql} <> ${BUILT_IN_ROLES.admin} AND NOT EXISTS (SELECT 1 FROM ${userRoles} held WHERE held.user_id = ${ceiling.userInternalId} AND held.role_id = ${roleIdSql}))`;
}

/** SQL: the role may be granted or revoked by the caller (within the ceiling; admin only by admins). */
export function assignableRole(ceiling: Ceiling, roleNameSql: SQL, permissionsColumn: SQL | typeof roles.permissions = roles.permissions): SQL {
  if (ceiling.isAdmin) return sql`1`;
  return sql`(${roleNameSql} <> ${BUILT_IN_ROLES.admin} AND ${roleWithin(ceiling, permissionsColumn)})`;
}
