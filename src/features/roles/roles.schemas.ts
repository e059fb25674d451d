import * as z from 'zod/mini';
import { PERMISSIONS } from '../../lib/permissions';

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
const Permissions = z.array(z.enum(PERMISSIONS, { error: `Unknown permission; known: ${PERMISSIONS.join(', ')}` })).check(z.maxLength(PERMISSIONS.length * 2));

export const RoleCreateBody = z.strictObject({ name: Name, description: z.optional(Description), permissions: Permissions });
export const RoleUpdateBody = z.strictObject({ name: Name, description: Description, permissions: Permissions });
export const RoleIdParams = z.object({ id: z.uuid({ error: 'Invalid role id' }) });
