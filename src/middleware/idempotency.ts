import { and, eq, lte } from 'drizzle-orm';
import type { Context } from 'hono';
import type { StatusCode } from 'hono/utils/http-status';
import { uuidv7 } from '../lib/uuid';
import { idempotencyKeys } from '../db/schema/app';
import { base64url, fromBase64url, sha256Hex } from '../lib/crypto';
import { AppError, defineErrors } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { callerKey } from '../security/rate-limit/client-key';

export const IDEMPOTENCY_ERRORS = defineErrors({
  IDEMPOTENCY_KEY_REUSED: 'This Idempotency-Key was used for another request',
  IDEMPOTENCY_IN_FLIGHT: 'A request with this Idempotency-Key is still in progress',
});

declare module '../lib/errors' {
  interface FeatureErrors {
    idempotency: typeof IDEMPOTENCY_ERRORS;
  }
}

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** The first response is replayed for this long after the first request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A `pending` row older than this is a request that died: the key is free again. */
export const IDEMPOTENCY_LOCK_MS = 60_000;
/** What a key may look like: printable ASCII without spaces, 1–255 characters (like Stripe's). */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

const encoder = new TextEncoder();

/**
 * The response body is encrypted at rest: it can hold a token pair (registration) or an API key
 * secret. The AES-GCM key is derived from DEVICE_TOKEN_SECRET (HKDF-separated) and the caller's
 * scope and raw Idempotency-Key, which is never stored (only its hash): a copy of the database
 * alone, or a caller who knows another's key but not their identity, reads nothing.
 */
async function bodyKey(secret: string | undefined, scope: string, rawKey: string): Promise<CryptoKey> {
  if (!secret) throw new Error('DEVICE_TOKEN_SECRET is not configured');
  const ikm = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('app-ubr'), info: encoder.encode(`idempotency v1\n${scope}\n${rawKey}`) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function seal(key: CryptoKey, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(text)));
  return `${base64url(iv)}.${base64url(sealed)}`;
}

async function open(key: CryptoKey, stored: string): Promise<string> {
  const [iv, sealed] = stored.split('.');
  if (!iv || !sealed) throw new Error('malformed idempotency record');
  return new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64url(iv) }, key, fromBase64url(sealed)));
}

/**
 * Idempotency-Key for a route declared `idempotent: true` (SPEC "Edge API semantics"), run by
 * `endpoint(spec)` after the guard and the validators. Without the header the request runs as
 * usual. With it, the key is scoped to the caller (API key, else user, else client IP: nobody
 * reads another caller's replay) and claimed by one conditional INSERT on a unique row in
 * APP_DB, so of any number of concurrent requests exactly one runs the handler:
 * - the same key and request (method, path, body) again within 24 h: the first response
 *   (status, body) with `Idempotent-Replayed: true`, the handler not run again;
 * - the same key with another request: 422 IDEMPOTENCY_KEY_REUSED;
 * - while the first is still running: 409 IDEMPOTENCY_IN_FLIGHT with `Retry-After: 1`.
 * Responses below 500 are kept; a 5xx (or a throw) releases the key so a retry runs again.
 * @example defineRoute({ method: 'post', path: '/', idempotent: true, ... })
 */
export async function idempotent(c: Context<AppEnv>, next: () => Promise<void>): Promise<void> {
  const rawKey = c.req.header(IDEMPOTENCY_HEADER);
  if (rawKey === undefined) return next();
  if (!KEY_FORMAT.test(rawKey)) {
    throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: IDEMPOTENCY_HEADER, message: 'Idempotency-Key must be 1-255 printable ASCII characters without spaces' }] });
  }
  const db = c.var.db.app;
  const scope = callerKey(c);
  const path = c.req.path.length > 1 ? c.req.path.replace(/\/+$/, '') : c.req.path;
  const [keyHash, requestHash] = await Promise.all([
    sha256Hex(`app-ubr:idempotency:${scope}\n${rawKey}`),
    sha256Hex(`${c.req.method} ${path}\n${JSON.stringify(c.var.jsonBody ?? null)}`),
  ]);
  const lockId = uuidv7();
  const now = Date.now();
  // One statement decides: a new key, or an expired record (finished > 24 h ago, or a pending
  // one whose request died), is ours; a live record is left alone and nothing is returned.
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ keyHash, requestHash, state: 'pending', lockId, expiresAt: new Date(now + IDEMPOTENCY_LOCK_MS) })
    .onConflictDoUpdate({
      target: idempotencyKeys.keyHash,
      set: { requestHash, state: 'pending', lockId, status: null, contentType: null, body: null, createdAt: new Date(now), updatedAt: new Date(now), expiresAt: new Date(now + IDEMPOTENCY_LOCK_MS) },
      setWhere: lte(idempotencyKeys.expiresAt, new Date(now)),
    })
    .returning({ lockId: idempotencyKeys.lockId })
    .get();
  if (!claimed) return answerFromRecord(c, keyHash, requestHash, scope, rawKey);

  const mine = and(eq(idempotencyKeys.keyHash, keyHash), eq(idempotencyKeys.lockId, lockId));
  let res: Response | undefined;
  try {
    await next();
    res = c.res;
  } finally {
    if (!res || res.status >= 500) {
      await db.delete(idempotencyKeys).where(mine).catch((err: unknown) => log('warn', 'idempotency release failed', { requestId: c.var.requestId, error: String(err) }));
    }
  }
  if (!res || res.status >= 500) return;
  const key = await bodyKey(c.env.DEVICE_TOKEN_SECRET, scope, rawKey);
  const body = await seal(key, await res.clone().text());
  await db
    .update(idempotencyKeys)
    .set({ state: 'done', status: res.status, contentType: res.headers.get('Content-Type'), body, expiresAt: new Date(now + IDEMPOTENCY_TTL_MS) })
    .where(mine);
}

async function answerFromRecord(c: Context<AppEnv>, keyHash: string, requestHash: string, scope: string, rawKey: string): Promise<void> {
  const row = await c.var.db.app
    .select({ requestHash: idempotencyKeys.requestHash, state: idempotencyKeys.state, status: idempotencyKeys.status, contentType: idempotencyKeys.contentType, body: idempotencyKeys.body })
    .from(idempotencyKeys)
    .where(eq(idempotencyKeys.keyHash, keyHash))
    .get();
  // Purged or released between our INSERT and this read: the first request failed; try again.
  if (!row) throw new AppError(409, 'IDEMPOTENCY_IN_FLIGHT', { headers: { 'Retry-After': '1' }, reason: 'record released during lookup' });
  if (row.requestHash !== requestHash) throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED');
  if (row.state !== 'done' || row.status === null || row.body === null) throw new AppError(409, 'IDEMPOTENCY_IN_FLIGHT', { headers: { 'Retry-After': '1' } });
  let text: string;
  try {
    text = await open(await bodyKey(c.env.DEVICE_TOKEN_SECRET, scope, rawKey), row.body);
  } catch {
    // DEVICE_TOKEN_SECRET was rotated since: the record cannot be read, and running the request
    // again could do the work twice. The key stays refused until the record expires.
    throw new AppError(409, 'IDEMPOTENCY_IN_FLIGHT', { reason: 'idempotency record unreadable (secret rotated?)' });
  }
  c.header(REPLAYED_HEADER, 'true');
  if (row.contentType) c.header('Content-Type', row.contentType);
  c.res = c.newResponse(text.length > 0 ? text : null, row.status as StatusCode);
}
