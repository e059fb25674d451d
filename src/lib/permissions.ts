/** Every permission the API checks, `resource:action`. Roles hold subsets of these. */
export const PERMISSIONS = [
  'users:read',
  'users:write',
  'users:delete',
  'roles:read',
  'roles:write',
  'logs:read',
  'notifications:read',
  'notifications:write',
  'config:write',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const BUILT_IN_ROLES = { admin: 'admin', user: 'user' } as const;

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}
