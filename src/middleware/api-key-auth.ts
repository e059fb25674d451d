import type { Context } from 'hono';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { apiKeyMatches, parseApiKey } from '../security/api-key';
import type { AuthContext } from './auth';

const KEY_SQL = `
SELECT k.id AS kid, k.public_id AS key_public_id, k.key_hash, k.permissions AS key_perms, k.last_used_at,
  u.id AS uid, u.public_id, u.email, u.email_verified_at, u.created_at, u.updated_at,
  (SELECT group_concat(r.name, ',') FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id) AS role_names,
  (SELECT json_group_array(DISTINCT je.value) FROM user_roles ur JOIN roles r ON r.id = ur.role_id, json_each(r.permissions) je
     WHERE ur.user_id = u.id) AS perms
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.prefix = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2) AND u.deleted_at IS NULL`;

interface KeyRow {
  kid: number;
  key_public_id: string;
  key_hash: string;
  key_perms: string;
  last_used_at: number | null;
  uid: number;
  public_id: string;
  email: string;
  email_verified_at: number | null;
  created_at: number;
  updated_at: number;
  role_names: string | null;
  perms: string | null;
}

const LAST_USED_RESOLUTION_MS = 5 * 60_000;

const invalid = (reason: string) => new AppError(401, 'INVALID_TOKEN', { message: 'Invalid or expired API key', reason, headers: { 'WWW-Authenticate': 'ApiKey' } });

/**
 * Authenticates an `X-API-Key`. The key's permissions are intersected with its owner's current
 * ones, so revoking a role from the owner narrows every key at once.
 */
export async function resolveApiKey(c: Context<AppEnv>, key: string): Promise<AuthContext> {
  const parsed = parseApiKey(key);
  if (!parsed) throw invalid('malformed api key');
  const now = Date.now();
  const row = await c.env.AUTH_DB.prepare(KEY_SQL).bind(parsed.prefix, now).first<KeyRow>();
  if (!row || !(await apiKeyMatches(key, row.key_hash))) throw invalid('unknown, revoked or expired api key');
  const owner = new Set<string>(row.perms ? (JSON.parse(row.perms) as string[]) : []);
  const permissions = new Set((JSON.parse(row.key_perms) as string[]).filter((p) => owner.has(p)));
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
    // Coarse last-used stamp, written after the response: no write on the hot path per call.
    const write = c.env.AUTH_DB.prepare('UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2').bind(now, row.kid).run();
    try {
      c.executionCtx.waitUntil(write.catch((err: unknown) => log('warn', 'api key last-used update failed', { error: String(err) })));
    } catch {
      await write;
    }
  }
  return {
    userId: row.public_id,
    userInternalId: row.uid,
    sessionId: `apikey:${row.key_public_id}`,
    sessionInternalId: 0,
    email: row.email,
    roles: row.role_names ? row.role_names.split(',').sort() : [],
    permissions,
    apiKeyId: row.key_public_id,
    user: {
      publicId: row.public_id,
      email: row.email,
      emailVerifiedAt: row.email_verified_at === null ? null : new Date(row.email_verified_at),
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
      deletedAt: null,
      roleNames: row.role_names,
    },
  };
}
