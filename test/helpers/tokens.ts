/**
 * Credential forging for attack tests: compact JWS built by hand (any header, any payload, any
 * signature), signed with the Worker's real key, a freshly generated one, HMAC or nothing; and
 * argon2id hashes with chosen parameters (same wasm module as src/security/password.ts).
 * Also runs the Worker with overridden bindings (e.g. a two-key JWT_SIGNING_KEYS) against the
 * same local D1/KV/DO/queues, for tests that need a configuration the wrangler.toml lacks.
 */
import noSimdModule from 'argon2id/dist/no-simd.wasm';
import simdModule from 'argon2id/dist/simd.wasm';
import setupWasm from 'argon2id/lib/setup.js';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import worker from '../../src/index';
import { getConfig } from '../../src/lib/config';
import { BASE, type CallOptions } from './api';

type Json = Record<string, unknown>;

const encoder = new TextEncoder();

export function b64url(input: Uint8Array | string): string {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Standard base64 without padding (the PHC string alphabet). */
export function b64std(bytes: Uint8Array): string {
  return b64url(bytes).replace(/-/g, '+').replace(/_/g, '/');
}

/** Decodes base64url or standard base64, padded or not. */
export function fromB64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

export function decodePart(part: string): Json {
  return JSON.parse(new TextDecoder().decode(fromB64url(part))) as Json;
}

/** Header and claims of a compact JWS, without verifying anything. */
export function decodeToken(token: string): { header: Json; payload: Json } {
  const [h, p] = token.split('.');
  return { header: decodePart(h!), payload: decodePart(p!) };
}

/** The Worker's own private JWKs (the secret from .dev.vars that tests run with). */
export function workerJwks(): JWK[] {
  const parsed = JSON.parse(env.JWT_SIGNING_KEYS) as JWK | JWK[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

async function importEd25519Private(jwk: JWK): Promise<CryptoKey> {
  const { crv, x, d } = jwk;
  return crypto.subtle.importKey('jwk', { kty: 'OKP', crv, x, d }, { name: 'Ed25519' }, false, ['sign']);
}

export type Signer = (signingInput: Uint8Array) => Promise<Uint8Array>;

/** Signs with an Ed25519 private JWK (by default the Worker's current signing key). */
export function ed25519Signer(jwk: JWK = workerJwks()[0]!): Signer {
  const key = importEd25519Private(jwk);
  return async (input) => new Uint8Array(await crypto.subtle.sign('Ed25519', await key, input));
}

/** HMAC-SHA256 with arbitrary key bytes: the "HS256 signed with the public key" confusion attack. */
export function hs256Signer(secret: Uint8Array): Signer {
  const key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return async (input) => new Uint8Array(await crypto.subtle.sign('HMAC', await key, input));
}

/** Builds a compact JWS from any header and payload. Without a signer the signature is empty. */
export async function forgeToken(header: Json, payload: Json, signer?: Signer): Promise<string> {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (!signer) return `${signingInput}.`;
  return `${signingInput}.${b64url(await signer(encoder.encode(signingInput)))}`;
}

/** A header exactly like the Worker's: EdDSA, at+jwt, the current kid. */
export function validHeader(overrides: Json = {}): Json {
  return { alg: 'EdDSA', typ: 'at+jwt', kid: workerJwks()[0]!.kid, ...overrides };
}

/**
 * Claims exactly like the Worker's, for a given subject and session (take them from a real
 * token with `decodeToken`), so one field at a time can be made wrong.
 */
export function validClaims(base: { sub: string; sid: string }, overrides: Json = {}): Json {
  const config = getConfig(env);
  const now = Math.floor(Date.now() / 1000);
  return {
    sid: base.sid,
    iss: config.jwtIssuer,
    aud: config.jwtAudience,
    sub: base.sub,
    jti: crypto.randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 900,
    ...overrides,
  };
}

/** Drops the named keys from an object (to forge a token missing a claim). */
export function without(obj: Json, ...keys: string[]): Json {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

/** Flips one bit of the decoded signature and re-encodes it. */
export function flipSignatureBit(token: string, bit = 0): string {
  const [h, p, s] = token.split('.');
  const sig = fromB64url(s!);
  sig[Math.floor(bit / 8) % sig.length]! ^= 1 << bit % 8;
  return `${h}.${p}.${b64url(sig)}`;
}

/** A fresh Ed25519 private JWK with a kid, in the JWT_SIGNING_KEYS format. */
export async function generateSigningJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

/**
 * Calls the Worker's fetch handler with the real local bindings plus `overrides` (a new env
 * object, so the config and key-ring caches key on it), then waits for its waitUntil work.
 */
export async function callWithEnv(overrides: Partial<CloudflareBindings>, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'CF-Connecting-IP': options.ip ?? '203.0.113.20', ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const request = new Request(`${BASE}${path}`, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides } as CloudflareBindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

type Argon2Params = Parameters<Awaited<ReturnType<typeof setupWasm>>>[0];
let argon: ReturnType<typeof setupWasm> | undefined;

/** The argon2id package's raw function, loaded from the same .wasm modules as the Worker. */
export async function argon2idRaw(params: Argon2Params): Promise<Uint8Array> {
  argon ??= setupWasm(
    async (imports) => ({ instance: await WebAssembly.instantiate(simdModule, imports) }),
    async (imports) => ({ instance: await WebAssembly.instantiate(noSimdModule, imports) }),
  );
  return (await argon)(params);
}

/**
 * A PHC string in the Worker's format for chosen parameters (e.g. an older, cheaper policy): salt
 * and hash in standard unpadded base64, or in base64url as the Worker wrote them before.
 * `salt` may be given in either alphabet.
 */
export async function argon2idPhc(
  password: string,
  params: { memorySize: number; passes: number; parallelism: number; tagLength?: number },
  salt?: string,
  encoding: 'base64' | 'base64url' = 'base64',
): Promise<string> {
  const saltBytes = salt ? fromB64url(salt) : crypto.getRandomValues(new Uint8Array(16));
  const tag = await argon2idRaw({ password: encoder.encode(password), salt: saltBytes, ...params, tagLength: params.tagLength ?? 32 });
  const enc = encoding === 'base64' ? b64std : b64url;
  return `$argon2id$v=19$m=${params.memorySize},t=${params.passes},p=${params.parallelism}$${enc(saltBytes)}$${enc(tag)}`;
}
