import * as z from 'zod/mini';
import { PERMISSIONS } from '../../lib/permissions';

export const ApiKeyResponse = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  permissions: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.nullable(z.string()),
  lastUsedAt: z.nullable(z.string()),
});
export const ApiKeyCreated = z.object({ ...ApiKeyResponse.shape, key: z.string() });
export const ApiKeyList = z.object({ data: z.array(ApiKeyResponse) });

export const ApiKeyCreateBody = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1, 'Name is required'), z.maxLength(100, 'Name is too long')),
  permissions: z.array(z.enum(PERMISSIONS, { error: `Unknown permission; known: ${PERMISSIONS.join(', ')}` })).check(z.maxLength(PERMISSIONS.length)),
  /** Days until expiry: keys always expire (1–365, default 90). */
  expiresInDays: z.optional(z.int().check(z.minimum(1, 'At least 1 day'), z.maximum(365, 'At most 365 days'))),
});

export const ApiKeyIdParams = z.object({ id: z.uuid({ error: 'Invalid API key id' }) });
