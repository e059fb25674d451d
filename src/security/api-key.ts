import { randomBytes, randomToken, sha256Hex, timingSafeEqualStrings } from '../lib/crypto';

/**
 * API key format: `ubr_<prefix>_<secret>`. The 10-character prefix identifies the key (safe to
 * show and log); the secret is 32 random bytes. Only SHA-256(key) is stored; the key is shown
 * once, at creation or rotation.
 */
const KEY = /^ubr_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export async function generateApiKey(): Promise<NewApiKey> {
  const prefix = [...randomBytes(10)].map((b) => BASE32[b % 32]).join('');
  const key = `ubr_${prefix}_${randomToken(32)}`;
  return { key, prefix, hash: await sha256Hex(key) };
}

export function parseApiKey(key: string): { prefix: string } | null {
  const m = KEY.exec(key);
  return m ? { prefix: m[1]! } : null;
}

export async function apiKeyMatches(key: string, storedHash: string): Promise<boolean> {
  return timingSafeEqualStrings(await sha256Hex(key), storedHash);
}
