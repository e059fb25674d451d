import setupWasm from 'argon2id/lib/setup.js';
import simdModule from 'argon2id/dist/simd.wasm';
import { base64NoPad, fromBase64url, randomBytes, timingSafeEqualBytes } from '../lib/crypto';
import { isCommonPassword } from './common-passwords';

/**
 * argon2id at the OWASP minimum (m=19456 KiB, t=2, p=1), measured in workerd (see README).
 * The `.wasm` files are imported as modules: workerd forbids compiling WebAssembly from bytes
 * at run time, so libraries that do that (hash-wasm) cannot run here.
 */
export const PASSWORD_PARAMS = { memorySize: 19_456, passes: 2, parallelism: 1, tagLength: 32 } as const;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

type ComputeHash = Awaited<ReturnType<typeof setupWasm>>;
let hasher: Promise<ComputeHash> | undefined;

// One wasm instance per isolate: its 65 MB linear memory is allocated once and reused
// (hashing is synchronous, so concurrent requests cannot interleave inside it). Only the SIMD
// build ships: workerd's V8 always has Wasm SIMD, so the package's no-SIMD fallback (~1.4 KiB
// gzip) would be dead weight; if SIMD ever failed to instantiate, hashing fails loudly.
function getHasher(): Promise<ComputeHash> {
  hasher ??= setupWasm(
    async (imports) => ({ instance: await WebAssembly.instantiate(simdModule, imports) }),
    () => Promise.reject(new Error('argon2id: the SIMD wasm build did not instantiate (no fallback is shipped)')),
  );
  return hasher;
}

const encoder = new TextEncoder();


interface ParsedHash {
  memorySize: number;
  passes: number;
  parallelism: number;
  salt: Uint8Array;
  hash: Uint8Array;
  /** Written by an earlier version in base64url: still verified, rewritten on the next login. */
  urlSafeEncoding: boolean;
}

// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, salt and hash unpadded and each in one
// alphabet: standard base64 (the PHC format, the argon2 reference implementation, argon2-cffi)
// or base64url (what this module wrote before). A field with neither "+/" nor "-_" reads the
// same in both.
const PHC_ARGON2ID = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+|[A-Za-z0-9_-]+)\$([A-Za-z0-9+/]+|[A-Za-z0-9_-]+)$/;

function parseHash(stored: string): ParsedHash | null {
  const m = PHC_ARGON2ID.exec(stored);
  if (!m) return null;
  const [salt, hash] = [m[4]!, m[5]!];
  try {
    return {
      memorySize: Number(m[1]),
      passes: Number(m[2]),
      parallelism: Number(m[3]),
      salt: fromBase64url(salt),
      hash: fromBase64url(hash),
      urlSafeEncoding: /[-_]/.test(salt + hash),
    };
  } catch {
    return null; // a field whose length no base64 string has
  }
}

// The argon2id package refuses inputs under 8 bytes. Such a password can never match a hash we
// made (8 characters minimum), so it is checked against this dummy instead: same work, no match,
// and a short password on login is a 401 like any wrong one (never a 500).
const ARGON2_MIN_INPUT_BYTES = 8;
const SHORT_INPUT_STANDIN = encoder.encode('short-password-stand-in');

async function compute(password: Uint8Array, salt: Uint8Array, p: { memorySize: number; passes: number; parallelism: number }, tagLength: number) {
  const hash = await getHasher();
  return hash({ password, salt, parallelism: p.parallelism, passes: p.passes, memorySize: p.memorySize, tagLength });
}

/** Hashes a password exactly as received (no trimming or normalisation). Returns a PHC string. */
export async function hashPassword(password: string): Promise<string> {
  const bytes = encoder.encode(password);
  if (bytes.byteLength < ARGON2_MIN_INPUT_BYTES) throw new RangeError('password shorter than the policy minimum');
  const salt = randomBytes(16);
  const tag = await compute(bytes, salt, PASSWORD_PARAMS, PASSWORD_PARAMS.tagLength);
  const { memorySize: m, passes: t, parallelism: p } = PASSWORD_PARAMS;
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${base64NoPad(salt)}$${base64NoPad(tag)}`;
}

/** Constant-time verification. An unparseable hash or a too-short password costs a full hash too, then fails. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  const bytes = encoder.encode(password);
  if (!parsed || bytes.byteLength < ARGON2_MIN_INPUT_BYTES) {
    await burnPasswordWork(password);
    return false;
  }
  const tag = await compute(bytes, parsed.salt, parsed, parsed.hash.byteLength);
  return timingSafeEqualBytes(tag, parsed.hash);
}

/** Burns the same work as a verification, for unknown accounts (no timing oracle). */
export async function burnPasswordWork(password: string): Promise<void> {
  const bytes = encoder.encode(password);
  await compute(bytes.byteLength < ARGON2_MIN_INPUT_BYTES ? SHORT_INPUT_STANDIN : bytes, randomBytes(16), PASSWORD_PARAMS, PASSWORD_PARAMS.tagLength);
}

/** True when the stored hash is not what hashPassword writes today (parameters or encoding). */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return (
    !parsed ||
    parsed.urlSafeEncoding ||
    parsed.memorySize !== PASSWORD_PARAMS.memorySize ||
    parsed.passes !== PASSWORD_PARAMS.passes ||
    parsed.parallelism !== PASSWORD_PARAMS.parallelism ||
    parsed.hash.byteLength !== PASSWORD_PARAMS.tagLength
  );
}

/** Business rules beyond length: a common password is refused. Returns a message or null; throws when the common-password set cannot be read. */
export async function passwordPolicyError(password: string, email?: string): Promise<string | null> {
  if (await isCommonPassword(password)) return 'Password is too common';
  if (email && password.toLowerCase() === email.toLowerCase()) return 'Password must not be your email';
  return null;
}

/**
 * The stored "hash" of an account made by social sign-in, that has no password yet: never a
 * PHC string, so `verifyPassword` refuses it at the full cost of a real check. `users.password_hash`
 * stays NOT NULL: making it nullable means rebuilding the users table in SQLite, whose DROP would
 * cascade into every table that references it under D1's enforced foreign keys. A password is
 * set later through the reset flow.
 */
export const NO_PASSWORD = '!none';
