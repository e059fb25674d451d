import type { Context } from 'hono';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { apiKeyMatches, parseApiKey } from '../security/api-key';
import { findKeyCaller, stampKeyLastUsed } from '../features/api-keys/api-keys.repository';
import { callerContext, type AuthContext } from './auth';

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
  const row = await findKeyCaller(c.env.AUTH_DB, parsed.prefix, now);
  if (!row || !(await apiKeyMatches(key, row.key_hash))) throw invalid('unknown, revoked or expired api key');
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
    // Coarse last-used stamp, written after the response: no write on the hot path per call.
    const write = stampKeyLastUsed(c.env.AUTH_DB, row.kid, now);
    try {
      c.executionCtx.waitUntil(write.catch((err: unknown) => log('warn', 'api key last-used update failed', { error: String(err) })));
    } catch {
      await write;
    }
  }
  const keyPermissions = JSON.parse(row.key_perms) as string[];
  return callerContext(row, {
    sessionId: `apikey:${row.key_public_id}`,
    sessionInternalId: 0,
    apiKeyId: row.key_public_id,
    permissions: (own) => new Set(keyPermissions.filter((p) => own.has(p))),
  });
}
