import * as z from 'zod/mini';
import { definePermissions, permissionList } from '../../lib/permissions';
import type { AuditActionList } from '../../lib/audit';

export const ROLES_AUDIT = ['role.create', 'role.update', 'role.delete'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    roles: (typeof ROLES_AUDIT)[number];
  }
}

export const ROLES_PERMISSIONS = definePermissions(['roles:read', 'roles:write']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    roles: (typeof ROLES_PERMISSIONS)[number];
  }
}

export const RoleResponse = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  builtIn: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const RoleList = z.object({ data: z.array(RoleResponse) });

const Name = z.string().check(z.regex(/^[a-z][a-z0-9_-]{0,49}$/, 'Role name: lowercase letters, digits, - and _, starting with a letter, at most 50'));
const Description = z.string().check(z.maxLength(500, 'Description is too long'));
const Permissions = permissionList(2);

export const RoleCreateBody = z.strictObject({
  name: Name,
  description: z.optional(Description),
  get permissions() {
    return Permissions();
  },
});
export const RoleUpdateBody = z.strictObject({
  name: Name,
  description: Description,
  get permissions() {
    return Permissions();
  },
});
export const RoleIdParams = z.object({ id: z.uuid({ error: 'Invalid role id' }) });
