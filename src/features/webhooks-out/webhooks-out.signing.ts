import { base64url, fromBase64url, randomBytes } from '../../lib/crypto';

const SECRET_PREFIX = 'whsec_';
const enc = new TextEncoder();

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** `whsec_` + base64 of 32 random bytes (the Standard Webhooks secret format). */
export function generateSecret(): string {
  return SECRET_PREFIX + b64(randomBytes(32));
}

function secretBytes(secret: string): Uint8Array {
  const raw = atob(secret.slice(SECRET_PREFIX.length));
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
}

/**
 * Standard Webhooks headers. Every secret in `secrets` signs (space-separated `v1,<sig>`), so a
 * receiver still holding the previous secret verifies during a rotation, as does one already on
 * the new secret. The signed content is `${id}.${timestamp}.${body}`, HMAC-SHA256, base64.
 */
export async function signatureHeaders(secrets: string[], id: string, timestampSeconds: number, body: string): Promise<Record<string, string>> {
  const content = enc.encode(`${id}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (s) => {
      const key = await crypto.subtle.importKey('raw', secretBytes(s), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return `v1,${b64(new Uint8Array(await crypto.subtle.sign('HMAC', key, content)))}`;
    }),
  );
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signatures.join(' ') };
}

// ---------------------------------------------------------------- secrets at rest

const keys = new Map<string, Promise<CryptoKey>>();

/**
 * AES-256-GCM key for webhook secrets, HKDF-derived from MFA_ENCRYPTION_KEY under its own label
 * (one key per purpose; rotating MFA_ENCRYPTION_KEY means re-issuing webhook secrets too).
 */
function secretsKey(master: string | undefined): Promise<CryptoKey> {
  if (!master) return Promise.reject(new Error('MFA_ENCRYPTION_KEY is not configured'));
  let key = keys.get(master);
  if (!key) {
    const raw = fromBase64url(master.replace(/=+$/, ''));
    key = crypto.subtle
      .importKey('raw', raw, 'HKDF', false, ['deriveKey'])
      .then((base) => crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('app-ubr webhook secrets') }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']));
    keys.set(master, key);
  }
  return key;
}

/** Bound to the endpoint (additional data): a ciphertext copied to another row does not decrypt. */
export async function sealSecret(master: string | undefined, endpointId: string, secret: string): Promise<string> {
  const iv = randomBytes(12);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(endpointId) }, await secretsKey(master), enc.encode(secret)));
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(ct, 12);
  return base64url(out);
}

export async function openSecret(master: string | undefined, endpointId: string, sealed: string): Promise<string> {
  const bytes = fromBase64url(sealed);
  const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: enc.encode(endpointId) }, await secretsKey(master), bytes.slice(12));
  return new TextDecoder().decode(pt);
}
