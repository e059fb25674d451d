import { base64url, fromBase64url, randomBytes, sha256Hex, timingSafeEqualBytes } from '../lib/crypto';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 s steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** One step either side, for clock drift. */
const DRIFT_STEPS = 1;

export function newTotpSecret(): Uint8Array {
  return randomBytes(20);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, no padding: the secret as authenticator apps take it. */
export function toBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The otpauth:// URI of Google Authenticator's Key Uri Format (SHA-1, 6 digits, 30 s). */
export function totpUri(issuer: string, account: string, secret: Uint8Array): string {
  const params = new URLSearchParams({ issuer, algorithm: 'SHA1', secret: toBase32(secret), period: String(TOTP_PERIOD_SECONDS), digits: String(TOTP_DIGITS) });
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?${params.toString()}`;
}

/** RFC 4226 HOTP with HMAC-SHA1 (WebCrypto): the code of one time step. */
async function hotp(key: CryptoKey, step: number): Promise<string> {
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigUint64(0, BigInt(step));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter));
  const offset = (mac[19] ?? 0) & 0x0f;
  const number = new DataView(mac.buffer).getUint32(offset) & 0x7fffffff;
  return String(number % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, '0');
}

/**
 * The time step a code belongs to, or null. The caller stores the step and only accepts a later
 * one next time, so a code is never accepted twice (replay within its 30 s window).
 */
export async function matchTotp(secret: Uint8Array, code: string, now = Date.now()): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const given = new TextEncoder().encode(code);
  const current = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
  let matched: number | null = null;
  // Every step of the window is computed and compared in constant time, whichever matches.
  for (let step = current - DRIFT_STEPS; step <= current + DRIFT_STEPS; step++) {
    if (timingSafeEqualBytes(new TextEncoder().encode(await hotp(key, step)), given) && matched === null) matched = step;
  }
  return matched;
}

const aesKeys = new Map<string, Promise<CryptoKey>>();
const recoveryKeys = new Map<string, Promise<CryptoKey>>();

/** A key made once per isolate from the 32 bytes of MFA_ENCRYPTION_KEY. */
function cachedKey(cache: Map<string, Promise<CryptoKey>>, secret: string | undefined, make: (raw: Uint8Array) => Promise<CryptoKey>): Promise<CryptoKey> {
  if (!secret) return Promise.reject(new Error('MFA_ENCRYPTION_KEY is not configured'));
  let key = cache.get(secret);
  if (!key) {
    const raw = fromBase64url(secret.replace(/=+$/, ''));
    if (raw.byteLength !== 32) return Promise.reject(new Error('MFA_ENCRYPTION_KEY must be 32 bytes, base64'));
    key = make(raw);
    cache.set(secret, key);
  }
  return key;
}

const importKey = (secret: string | undefined) => cachedKey(aesKeys, secret, (raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));

/**
 * HMAC-SHA256 key for recovery codes, derived with HKDF from MFA_ENCRYPTION_KEY (its own key for
 * its own purpose): without the secret, a leaked table of code hashes cannot be searched offline
 * (ASVS 6.5.2), as 50-bit codes under a bare SHA-256 could be.
 */
const recoveryCodeKey = (secret: string | undefined) =>
  cachedKey(recoveryKeys, secret, async (raw) =>
    crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('app-ubr recovery codes') },
      await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']),
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    ),
  );

/** AES-256-GCM, bound to the user (additional data), so a ciphertext cannot be moved between users. */
export async function encryptSecret(keySecret: string | undefined, userPublicId: string, secret: Uint8Array): Promise<string> {
  const iv = randomBytes(12);
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(userPublicId) }, await importKey(keySecret), secret);
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), 12);
  return base64url(out);
}

export async function decryptSecret(keySecret: string | undefined, userPublicId: string, stored: string): Promise<Uint8Array> {
  const bytes = fromBase64url(stored);
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(userPublicId) },
    await importKey(keySecret),
    bytes.slice(12),
  );
  return new Uint8Array(pt);
}

/** Recovery codes: 10 × 10 base32 characters (50 bits each), shown once, stored hashed. */
export function newRecoveryCodes(count = 10): string[] {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const chars = [...randomBytes(10)].map((b) => alphabet[b % 32]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** The generated form without its hyphen, whatever the user typed: `AbCdE-fghij`, `abcde fghij`, `abcdefghij`. */
export function normaliseRecoveryCode(code: string): string {
  return code.replace(/[\s-]+/g, '').toLowerCase();
}

const toHex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/** What is stored for a recovery code: hex HMAC-SHA256 of its normalised form. */
export async function hashRecoveryCode(keySecret: string | undefined, code: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await recoveryCodeKey(keySecret), new TextEncoder().encode(normaliseRecoveryCode(code)));
  return toHex(new Uint8Array(mac));
}

/**
 * Every hash a stored recovery code may have: the keyed one, and the bare SHA-256 of the
 * hyphenated lower-case form that codes issued before the keyed hash were stored under.
 */
export async function recoveryCodeCandidates(keySecret: string | undefined, code: string): Promise<[keyed: string, legacy: string]> {
  const n = normaliseRecoveryCode(code);
  return Promise.all([hashRecoveryCode(keySecret, n), sha256Hex(`${n.slice(0, 5)}-${n.slice(5)}`)]);
}
