import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { uuidv7 } from '../lib/uuid';
import { base64url, sha256Hex } from '../lib/crypto';

/**
 * Device tokens (OWASP "Slow down online guessing attacks with device cookies"): a long-lived,
 * signed statement "this client signed in to this account before". A login attempt that
 * presents a valid one is counted on that device's own budget, so an attacker who spends an
 * account's budget from anywhere cannot lock the owner out of a device that signed in before;
 * refresh retries within the reuse window are bound to it too.
 *
 * Format: a compact JWS, HS256 under a key derived (HKDF) from DEVICE_TOKEN_SECRET, `typ`
 * `device+jwt`; claims `sub` (user public id), `did` (device id), `acct` (hash of the account's
 * normalised email, so the rate limiter can check the binding before any database read), `iat`,
 * `exp`. Opaque to clients: they store it and send it back. HMAC verification in WebCrypto is
 * constant time.
 */
export const DEVICE_TOKEN_TYP = 'device+jwt';
export const DEVICE_TOKEN_TTL_SECONDS = 365 * 24 * 3600;
/** Longest device token we parse (a real one is ~330 characters). */
export const DEVICE_TOKEN_MAX_LENGTH = 1024;

export interface DeviceClaims {
  userId: string;
  deviceId: string;
  accountHash: string;
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** An HMAC key derived from the secret for one purpose (domain separation by HKDF info). */
export function derivedHmacKey(secret: string | undefined, purpose: string): Promise<CryptoKey> {
  if (!secret) return Promise.reject(new Error('DEVICE_TOKEN_SECRET is not configured'));
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('app-ubr'), info: encoder.encode(purpose) },
        ikm,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
    })();
    key.catch(() => keys.delete(cacheKey));
    keys.set(cacheKey, key);
  }
  return key;
}

/** HMAC-SHA256 of `message` under a purpose-derived key, base64url (43 characters). */
export async function deriveSecret(secret: string | undefined, purpose: string, message: string): Promise<string> {
  const key = await derivedHmacKey(secret, purpose);
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message))));
}

/** The account binding: a hash of the normalised email (never the address itself). */
export async function accountHash(email: string): Promise<string> {
  return (await sha256Hex(`app-ubr:device:${email.trim().toLowerCase()}`)).slice(0, 32);
}

export async function issueDeviceToken(secret: string | undefined, issuer: string, input: { userId: string; email: string; deviceId?: string }): Promise<{ token: string; deviceId: string }> {
  const deviceId = input.deviceId ?? uuidv7();
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ did: deviceId, acct: await accountHash(input.email) })
    .setProtectedHeader({ alg: 'HS256', typ: DEVICE_TOKEN_TYP })
    .setIssuer(issuer)
    .setSubject(input.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + DEVICE_TOKEN_TTL_SECONDS)
    .sign(await derivedHmacKey(secret, 'device-token v1'));
  return { token, deviceId };
}

/**
 * Verifies signature, type, issuer and expiry; null on any doubt (a bad device token only
 * means "untrusted client", never an error the caller sees).
 */
export async function verifyDeviceToken(secret: string | undefined, issuer: string, token: unknown): Promise<DeviceClaims | null> {
  if (typeof token !== 'string' || token.length === 0 || token.length > DEVICE_TOKEN_MAX_LENGTH) return null;
  try {
    const { payload } = await jwtVerify(token, await derivedHmacKey(secret, 'device-token v1'), {
      algorithms: ['HS256'],
      typ: DEVICE_TOKEN_TYP,
      issuer,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.did !== 'string' || typeof payload.acct !== 'string') return null;
    return { userId: payload.sub, deviceId: payload.did, accountHash: payload.acct };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) return null;
    throw err;
  }
}
