import * as z from 'zod/mini';
import { permissionList } from '../../lib/permissions';
import type { AuditActionList } from '../../lib/audit';

export const API_KEYS_AUDIT = ['apikey.create', 'apikey.rotate', 'apikey.revoke'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    'apiKeys': (typeof API_KEYS_AUDIT)[number];
  }
}

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

const Permissions = permissionList(1);

export const ApiKeyCreateBody = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1, 'Name is required'), z.maxLength(100, 'Name is too long')),
  get permissions() {
    return Permissions();
  },
  /** Days until expiry: keys always expire (1–365, default 90). */
  expiresInDays: z.optional(z.int().check(z.minimum(1, 'At least 1 day'), z.maximum(365, 'At most 365 days'))),
});

export const ApiKeyIdParams = z.object({ id: z.uuid({ error: 'Invalid API key id' }) });
