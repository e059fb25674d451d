import { CALLER_COLUMNS, type CallerRow } from '../auth/caller.repository';

export interface KeyCallerRow extends CallerRow {
  kid: number;
  key_public_id: string;
  key_hash: string;
  key_perms: string;
  last_used_at: number | null;
}

// Raw for the reason the session check is (caller.repository.ts): every API-key call runs it,
// and it shares that query's caller columns. One statement, parameters bound.
const KEY_SQL = `
SELECT ${CALLER_COLUMNS}, k.id AS kid, k.public_id AS key_public_id, k.key_hash, k.permissions AS key_perms, k.last_used_at
FROM api_keys k JOIN users ON users.id = k.user_id
WHERE k.prefix = ?1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2) AND users.deleted_at IS NULL`;

/** The live key with this prefix and its owner's caller columns; the hash is checked by the caller. */
export function findKeyCaller(db: D1Database, prefix: string, now: number): Promise<KeyCallerRow | null> {
  return db.prepare(KEY_SQL).bind(prefix, now).first<KeyCallerRow>();
}

/**
 * Stamps the key's last use. Raw because the query builder would also stamp `updated_at`
 * ($onUpdateFn): a use is not a change of the key.
 */
export function stampKeyLastUsed(db: D1Database, keyId: number, now: number): Promise<D1Result> {
  return db.prepare('UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2').bind(now, keyId).run();
}
