import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { pkceChallenge, randomToken, timingSafeEqualStrings } from '../../lib/crypto';

/**
 * The relying-party side of OpenID Connect and OAuth 2 that social sign-in needs, on jose and
 * WebCrypto: discovery (issuer checked), PKCE S256, the authorization response, the token
 * request (client_secret_post) and id_token validation (OIDC Core 3.1.3.7). No provider token
 * leaves this module but the access token GitHub's API needs.
 */

/** The discovery fields we use, each checked to be an https (or loopback) URL. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri?: string;
  authorization_response_iss_parameter_supported?: boolean;
}

/** The provider refused or failed: `error` is its OAuth error code (RFC 6749 §4.1.2.1, §5.2) or ours. */
export class ProviderRefusal extends Error {
  constructor(readonly error: string) {
    super(`provider refused: ${error}`);
    this.name = 'ProviderRefusal';
  }
}

/** Signing algorithms accepted on an id_token: asymmetric only (never `none`, never HS* keyed by the client secret). */
export const ID_TOKEN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or plain http to a loopback host only (local development and the tests' own servers). */
export function secureUrl(value: unknown, what: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ProviderRefusal(`${what} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) throw new ProviderRefusal(`${what} is not https`);
  return url;
}

async function readJson(res: Response, what: string): Promise<Record<string, unknown>> {
  const body: unknown = await res.json().catch(() => null);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ProviderRefusal(`${what} answered ${res.status} without a JSON object`);
  return body as Record<string, unknown>;
}

/** OIDC Discovery 1.0 §4: fetched from the issuer, whose `issuer` must be that very issuer (§4.3). */
export async function fetchDiscovery(issuer: URL): Promise<ProviderMetadata> {
  const url = new URL(`${issuer.href.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  const res = await fetch(secureUrl(url, 'discovery'), { headers: { Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new ProviderRefusal(`discovery answered ${res.status}`);
  const doc = await readJson(res, 'discovery');
  if (typeof doc.issuer !== 'string' || secureUrl(doc.issuer, 'issuer').href !== issuer.href) throw new ProviderRefusal('discovery issuer mismatch');
  return {
    issuer: doc.issuer,
    authorization_endpoint: secureUrl(doc.authorization_endpoint, 'authorization_endpoint').href,
    token_endpoint: secureUrl(doc.token_endpoint, 'token_endpoint').href,
    jwks_uri: secureUrl(doc.jwks_uri, 'jwks_uri').href,
    authorization_response_iss_parameter_supported: doc.authorization_response_iss_parameter_supported === true,
  };
}

/** RFC 7636: a 43-character verifier (32 random bytes) and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = randomToken(32);
  return { verifier, challenge: await pkceChallenge(verifier) };
}

/**
 * RFC 6749 §4.1.2 and RFC 9207: the code, or the provider's error; an `iss` parameter (required
 * when the provider advertises it) must be the issuer (mix-up attack). The state was checked by
 * the caller (it found the flow by it).
 */
export function authorizationCode(as: ProviderMetadata, params: URLSearchParams): string {
  const iss = params.get('iss');
  if (iss !== null ? iss !== as.issuer : as.authorization_response_iss_parameter_supported) throw new ProviderRefusal('iss mismatch');
  const error = params.get('error');
  if (error !== null) throw new ProviderRefusal(error.slice(0, 64));
  const code = params.get('code');
  if (!code) throw new ProviderRefusal('no code');
  return code;
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
}

/** RFC 6749 §4.1.3 with PKCE and client_secret_post; §5.2 errors (and GitHub's 200 with `error`) refused with their code. */
export async function exchangeCode(
  as: ProviderMetadata,
  client: { clientId: string; clientSecret: string | null },
  code: string,
  redirectUri: string,
  verifier: string,
): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: client.clientId });
  if (client.clientSecret) body.set('client_secret', client.clientSecret);
  const res = await fetch(secureUrl(as.token_endpoint, 'token_endpoint'), {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const json = await readJson(res, 'token endpoint');
  if (typeof json.error === 'string') throw new ProviderRefusal(json.error.slice(0, 64));
  if (res.status !== 200) throw new ProviderRefusal(`token endpoint answered ${res.status}`);
  if (typeof json.access_token !== 'string' || !json.access_token) throw new ProviderRefusal('no access_token');
  if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') throw new ProviderRefusal('token_type is not bearer');
  return { access_token: json.access_token, ...(typeof json.id_token === 'string' ? { id_token: json.id_token } : {}) };
}

const remoteJwks = new Map<string, JWTVerifyGetKey>();

/** The provider's keys, one cached set per jwks_uri (jose refetches on an unknown `kid`, at most every 30 s). */
export function providerKeys(jwksUri: string): JWTVerifyGetKey {
  let jwks = remoteJwks.get(jwksUri);
  if (!jwks) {
    jwks = createRemoteJWKSet(secureUrl(jwksUri, 'jwks_uri'), { timeoutDuration: 5_000 });
    remoteJwks.set(jwksUri, jwks);
  }
  return jwks;
}

export interface IdTokenExpectations {
  issuer: string;
  /** The `aud` values accepted: the client id (web), or it and the app ids (native). */
  audiences: string[];
  /** The nonce values accepted (constant-time compare); the first one is the nonce the flow sent. */
  nonces: string[];
  maxTokenAge?: string;
}

/**
 * OIDC Core 3.1.3.7: signature by the provider's keys (asymmetric algorithms only), iss, aud,
 * exp, iat, sub, the nonce, and `azp` one of ours whenever the token has several audiences.
 * Throws ProviderRefusal with a short reason (logged, never sent).
 */
export async function verifyIdToken(idToken: string, keys: JWTVerifyGetKey, want: IdTokenExpectations): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      issuer: want.issuer,
      audience: want.audiences,
      algorithms: ID_TOKEN_ALGS,
      requiredClaims: ['sub', 'iat', 'exp', 'nonce'],
      clockTolerance: 30,
      ...(want.maxTokenAge ? { maxTokenAge: want.maxTokenAge } : {}),
    }));
  } catch (err) {
    throw new ProviderRefusal(err instanceof Error ? ((err as { code?: string }).code ?? err.name) : 'verify failed');
  }
  // Several audiences: the authorized party must be one of ours (3.1.3.7 item 4). A single
  // audience may carry another azp (Google's Android tokens: aud the web client, azp the app).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && !want.audiences.includes(String(payload.azp))) throw new ProviderRefusal('azp');
  const nonce = String(payload.nonce);
  let nonceOk = false;
  for (const expected of want.nonces) nonceOk = (await timingSafeEqualStrings(nonce, expected)) || nonceOk;
  if (!nonceOk) throw new ProviderRefusal('nonce mismatch');
  return payload;
}
