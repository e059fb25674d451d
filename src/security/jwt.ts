import { errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
import { uuidv7 } from '../lib/uuid';

/** Access tokens: EdDSA (Ed25519) only; `alg` is pinned and `typ` checked (RFC 9068). */
export const ACCESS_TOKEN_ALG = 'EdDSA';
export const ACCESS_TOKEN_TYP = 'at+jwt';
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export interface KeyRing {
  /** Signs new tokens: the first key of JWT_SIGNING_KEYS. */
  signing: { kid: string; key: CryptoKey };
  /** Verify keys by kid: every key of the ring (current and previous during a rotation). */
  verify: Map<string, CryptoKey>;
  /** Public JWKs published at /.well-known/jwks.json. */
  publicJwks: JWK[];
}

export interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface TokenOptions {
  issuer: string;
  audience: string;
}

const rings = new Map<string, Promise<KeyRing>>();

async function buildRing(secret: string): Promise<KeyRing> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new Error('JWT_SIGNING_KEYS is not valid JSON');
  }
  const jwks = (Array.isArray(parsed) ? parsed : [parsed]) as JWK[];
  if (jwks.length === 0) throw new Error('JWT_SIGNING_KEYS is empty');
  const verify = new Map<string, CryptoKey>();
  const publicJwks: JWK[] = [];
  let signing: KeyRing['signing'] | undefined;
  for (const jwk of jwks) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || !jwk.d || !jwk.x) {
      throw new Error('JWT_SIGNING_KEYS must hold Ed25519 private JWKs with a kid');
    }
    // Two keys under one kid would verify with whichever came last: tokens of the other fail.
    if (verify.has(jwk.kid)) throw new Error(`JWT_SIGNING_KEYS has a duplicate kid: ${jwk.kid}`);
    const { d: _d, ...pub } = jwk;
    const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: pub.x, kid: jwk.kid, alg: ACCESS_TOKEN_ALG, use: 'sig' };
    verify.set(jwk.kid, (await importJWK(publicJwk, ACCESS_TOKEN_ALG)) as CryptoKey);
    publicJwks.push(publicJwk);
    signing ??= { kid: jwk.kid, key: (await importJWK({ ...jwk, alg: ACCESS_TOKEN_ALG }, ACCESS_TOKEN_ALG)) as CryptoKey };
  }
  return { signing: signing!, verify, publicJwks };
}

/** Imported keys are cached per isolate, keyed by the secret's value (a rotation changes it). */
export function getKeyRing(secret: string | undefined): Promise<KeyRing> {
  if (!secret) return Promise.reject(new Error('JWT_SIGNING_KEYS is not configured'));
  let ring = rings.get(secret);
  if (!ring) {
    ring = buildRing(secret);
    ring.catch(() => rings.delete(secret));
    rings.set(secret, ring);
  }
  return ring;
}

/** `fixed` pins issued-at and jti (a refresh retry re-issues the byte-identical token). */
export async function signAccessToken(ring: KeyRing, opts: TokenOptions, subject: string, sessionId: string, fixed?: { issuedAt: number; jti: string }): Promise<string> {
  const now = fixed?.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: sessionId })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: ACCESS_TOKEN_TYP, kid: ring.signing.kid })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(subject)
    .setJti(fixed?.jti ?? uuidv7())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
    .sign(ring.signing.key);
}

export class InvalidTokenError extends Error {
  /** A token we signed, only past its lifetime: a client that should refresh, not a guess. */
  readonly expired: boolean;
  constructor(message: string, options: { expired?: boolean } = {}) {
    super(message);
    this.expired = options.expired ?? false;
  }
}

const ALLOWED_HEADER_KEYS = new Set(['alg', 'typ', 'kid']);

/**
 * Verifies an access token. Only our own keys are ever used: `jku`, `jwk`, `x5u` and any other
 * header that points elsewhere is refused outright rather than ignored.
 */
export async function verifyAccessToken(ring: KeyRing, opts: TokenOptions, token: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        for (const key of Object.keys(header)) {
          if (!ALLOWED_HEADER_KEYS.has(key)) throw new InvalidTokenError(`header ${key} not allowed`);
        }
        const key = typeof header.kid === 'string' ? ring.verify.get(header.kid) : undefined;
        if (!key) throw new InvalidTokenError('unknown kid');
        return key;
      },
      {
        algorithms: [ACCESS_TOKEN_ALG],
        issuer: opts.issuer,
        audience: opts.audience,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'nbf'],
        clockTolerance: 5,
        // No access token outlives its 15 minutes, whatever its exp says; an iat in the future is refused.
        maxTokenAge: ACCESS_TOKEN_TTL_SECONDS,
      },
    );
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
      throw new InvalidTokenError('malformed claims');
    }
    if (payload.exp! - payload.iat! > ACCESS_TOKEN_TTL_SECONDS) throw new InvalidTokenError('lifetime longer than an access token');
    return payload as unknown as AccessClaims;
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
      // jose checks the signature before the claims: JWTExpired (exp, or iat beyond maxTokenAge) means a genuine token.
      throw new InvalidTokenError((err as Error).message, { expired: err instanceof joseErrors.JWTExpired });
    }
    throw err;
  }
}

/**
 * Signs a JWT with the ring's current key (the keys of the access tokens, published at
 * /.well-known/jwks.json): OAuth access tokens (`typ: at+jwt`, another audience, so the session
 * guard refuses them) and OpenID Connect id_tokens (`typ: JWT`).
 */
export async function signWithRing(ring: KeyRing, typ: string, claims: Record<string, unknown>, opts: TokenOptions & { subject: string; ttlSeconds: number; issuedAt?: number }): Promise<string> {
  const now = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ, kid: ring.signing.kid })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(opts.subject)
    .setJti(uuidv7())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + opts.ttlSeconds)
    .sign(ring.signing.key);
}
