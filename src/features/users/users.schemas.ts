import * as z from 'zod/mini';
import { Cursor, Limit, pageSchema, QueryBool, QueryDate } from '../../lib/pagination';
import type { AuditActionList } from '../../lib/audit';
import { definePermissions } from '../../lib/permissions';

export const USERS_PERMISSIONS = definePermissions(['users:read', 'users:write', 'users:delete']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    users: (typeof USERS_PERMISSIONS)[number];
  }
}

// role.grant and role.revoke are recorded by PUT/DELETE /users/:id/roles/:roleId.
export const USERS_AUDIT = ['user.update', 'user.delete', 'user.restore', 'role.grant', 'role.revoke', 'user.sessions_revoke'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    users: (typeof USERS_AUDIT)[number];
  }
}

/** The only user fields that ever leave the API (explicit allowlist: no hash, secret or token). */
export const UserResponse = z.object({
  id: z.string(),
  email: z.string(),
  fullName: z.nullable(z.string()),
  emailVerified: z.boolean(),
  roles: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.optional(z.nullable(z.string())),
});
export type UserResponse = z.infer<typeof UserResponse>;

export const UserIdParams = z.object({ id: z.uuid({ error: 'Invalid user id' }) });

export const UserListQuery = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  email: z.optional(z.string().check(z.minLength(1), z.maxLength(254))),
  role: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9_-]{0,49}$/, 'Invalid role name'))),
  createdFrom: QueryDate,
  createdTo: QueryDate,
  includeDeleted: QueryBool,
});

export const UserGetQuery = z.strictObject({ includeDeleted: QueryBool });

export const UserPage = pageSchema(UserResponse);

const FullNameValue = z.nullable(z.string().check(z.trim(), z.minLength(1, 'Full name must not be empty'), z.maxLength(100, 'Full name is too long')));
const EmailValue = z.pipe(
  z.string().check(z.maxLength(254, 'Email is too long')),
  z.pipe(z.transform((s: string) => s.trim().toLowerCase()), z.email({ error: 'Invalid email' })),
);

/**
 * What a user may change about themselves. Strict: any other key (roles, permissions, id,
 * emailVerified, password...) is refused with 400, never applied (mass assignment).
 */
export const SelfUpdate = z.strictObject({ fullName: FullNameValue });
/** Admins may also change the email and the verification state (never roles: see /users/:id/roles). */
export const AdminUpdate = z.strictObject({ fullName: FullNameValue, email: EmailValue, emailVerified: z.boolean() });

export const SelfPatch = z.strictObject({ fullName: z.optional(FullNameValue) });
export const AdminPatch = z.strictObject({ fullName: z.optional(FullNameValue), email: z.optional(EmailValue), emailVerified: z.optional(z.boolean()) });

/** The body schema is chosen after authentication (self vs admin); OpenAPI documents the admin form. */
export const UserUpdateBody = z.union([AdminUpdate, SelfUpdate]);
export const UserPatchBody = z.union([AdminPatch, SelfPatch]);

export const UserRoleParams = z.object({ id: z.uuid({ error: 'Invalid user id' }), roleId: z.uuid({ error: 'Invalid role id' }) });

/** A session as an operator sees it (GET /users/:id/sessions): no token, no IP. */
export const AdminSessionResponse = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.nullable(z.string()),
});
export const AdminSessionListResponse = z.object({ data: z.array(AdminSessionResponse) });
export const SessionsEndedResponse = z.object({ ended: z.number() });
