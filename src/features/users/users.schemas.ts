import * as z from 'zod/mini';

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
