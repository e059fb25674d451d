import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AppConfig } from '../../lib/config';
import { derivedHmacKey } from '../../security/device-token';
import { OAuthError } from './oauth.errors';
import { isKnownScope } from './oauth.schemas';
import { findClient, type OAuthDeps } from './oauth.service';

/**
 * The authorization request (RFC 6749 §4.1.1 with OAuth 2.1's rules): code flow only, PKCE S256
 * only, redirect_uri registered and matched exactly. Until client and redirect_uri are known
 * good, errors are shown on our page and never redirected (no open redirector).
 */

export interface AuthorizationRequest {
  clientId: string;
  clientName: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string;
  nonce: string | null;
}

/** Shown on our own page: the client or its redirect_uri could not be trusted. */
export class AuthorizePageError extends Error {}

/** Redirected to the client's (verified) redirect_uri with `error`, `state` and `iss`. */
export class AuthorizeRedirectError extends Error {
  constructor(
    readonly redirectUri: string,
    readonly state: string | null,
    readonly code: string,
    description: string,
  ) {
    super(description);
  }
}

type Param = 'response_type' | 'client_id' | 'redirect_uri' | 'scope' | 'state' | 'code_challenge' | 'code_challenge_method' | 'nonce' | 'prompt';

/** RFC 6749 §3.1: a parameter sent twice makes the request invalid. */
export function singleValued(params: URLSearchParams): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (out.has(k)) return null;
    out.set(k, v);
  }
  return out;
}

export async function validateAuthorizationRequest(deps: OAuthDeps, query: URLSearchParams): Promise<AuthorizationRequest> {
  const p = singleValued(query);
  if (!p) throw new AuthorizePageError('A parameter was sent more than once.');
  const get = (k: Param) => p.get(k) ?? null;
  const clientId = get('client_id');
  const client = clientId ? await findClient(deps.db, clientId) : null;
  if (!client) throw new AuthorizePageError('Unknown application.');
  const redirectUri = get('redirect_uri');
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) throw new AuthorizePageError('This redirect address is not registered for the application.');
  const state = get('state');
  const fail = (code: string, d: string) => new AuthorizeRedirectError(redirectUri, state, code, d);
  if (state !== null && state.length > 1024) throw fail('invalid_request', 'state is too long');
  if (get('response_type') !== 'code') throw fail('unsupported_response_type', 'Only response_type=code is supported');
  const challenge = get('code_challenge');
  if (get('code_challenge_method') !== 'S256' || !challenge || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    throw fail('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
  }
  // No browser session here: the user signs in on the consent page, so prompt=none cannot succeed.
  if (get('prompt') === 'none') throw fail('login_required', 'The user must sign in');
  const requested = (get('scope') ?? '').split(' ').filter(Boolean);
  if (requested.length === 0 || requested.length > 64) throw fail('invalid_scope', 'scope is required');
  if (requested.some((s) => !isKnownScope(s) || !client.scopes.includes(s))) throw fail('invalid_scope', 'A requested scope is unknown or not allowed for this client');
  const nonce = get('nonce');
  if (nonce !== null && nonce.length > 512) throw fail('invalid_request', 'nonce is too long');
  return { clientId: client.publicId, clientName: client.name, redirectUri, scopes: [...new Set(requested)], state, codeChallenge: challenge, nonce };
}

const TICKET_TYP = 'oauth-request+jwt';
const TICKET_TTL_SECONDS = 600;

/**
 * The consent form carries the validated request as a signed ticket (HS256, key HKDF-derived from
 * DEVICE_TOKEN_SECRET, 10 min): what the user approves is exactly what was validated and shown,
 * and a forged or altered form is refused.
 */
export async function signRequestTicket(env: CloudflareBindings, config: AppConfig, r: AuthorizationRequest): Promise<string> {
  return new SignJWT({ r })
    .setProtectedHeader({ alg: 'HS256', typ: TICKET_TYP })
    .setIssuer(config.jwtIssuer)
    .setIssuedAt()
    .setExpirationTime(`${TICKET_TTL_SECONDS}s`)
    .sign(await derivedHmacKey(env.DEVICE_TOKEN_SECRET, 'oauth-request v1'));
}

export async function verifyRequestTicket(env: CloudflareBindings, config: AppConfig, ticket: string | undefined): Promise<AuthorizationRequest | null> {
  if (!ticket || ticket.length > 8192) return null;
  try {
    const { payload } = await jwtVerify(ticket, await derivedHmacKey(env.DEVICE_TOKEN_SECRET, 'oauth-request v1'), { algorithms: ['HS256'], typ: TICKET_TYP, issuer: config.jwtIssuer });
    return payload.r as AuthorizationRequest;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) return null;
    throw err;
  }
}

export function redirectWith(redirectUri: string, params: Record<string, string | null>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return url.toString();
}

export { OAuthError };
