import * as z from 'zod/mini';

/**
 * Permissions, `resource:action`, by feature. Each feature declares the ones its routes check
 * with `definePermissions` and adds them here by declaration merging, so `Permission` is a
 * compile-checked union while this module never imports a feature.
 * @example declare module '../../lib/permissions' { interface FeaturePermissions { logs: (typeof LOGS_PERMISSIONS)[number] } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface FeaturePermissions {}

export type Permission = FeaturePermissions[keyof FeaturePermissions];

/**
 * Every registered permission, sorted (so no order depends on which module loaded first). It is
 * complete once the features' modules have loaded: read it in a request or lazily (`z.lazy`),
 * never while a module is being evaluated.
 */
export const PERMISSIONS: Permission[] = [];

/** Registers a feature's permissions; roles and API keys hold subsets of all of them. */
export function definePermissions<const P extends readonly `${Lowercase<string>}:${Lowercase<string>}`[]>(permissions: P): P {
  for (const p of permissions as readonly string[] as Permission[]) if (!PERMISSIONS.includes(p)) PERMISSIONS.push(p);
  PERMISSIONS.sort();
  return permissions;
}

/**
 * A request's list of permissions: registered ones only, at most `perPermission` × their number.
 * Built at its first call, so use it as a getter in the object shape
 * (`get permissions() { return list(); }`): zod reads it at the first validation or OpenAPI
 * build, once every feature has registered (not `z.lazy`, which adds its code to the bundle).
 */
export function permissionList(perPermission: number) {
  let list: z.ZodMiniArray<z.ZodMiniEnum<{ [P in Permission]: P }>> | undefined;
  return () => (list ??= z.array(z.enum(PERMISSIONS, { error: `Unknown permission; known: ${PERMISSIONS.join(', ')}` })).check(z.maxLength(PERMISSIONS.length * perPermission)));
}

export const BUILT_IN_ROLES = { admin: 'admin', user: 'user' } as const;

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * What a caller's roles grant. The built-in admin role holds every registered permission by
 * rule, whatever its row says, so a new permission needs no data migration to reach admins.
 */
export function grantedPermissions(roleNames: readonly string[], fromRoleRows: readonly string[]): Set<string> {
  return new Set(roleNames.includes(BUILT_IN_ROLES.admin) ? [...fromRoleRows, ...PERMISSIONS] : fromRoleRows);
}
