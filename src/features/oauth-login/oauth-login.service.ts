import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { log } from '../../lib/log';
import { invalidIdToken, invalidState, providerError, redirectNotAllowed } from './oauth-login.errors';
import { appleClientSecret, appleUserName } from './apple';
import { githubClaims } from './github';
import { discover, unknownProvider, type ProviderConfig } from './oauth-login.providers';
import { authorizationCode, exchangeCode, pkcePair, ProviderRefusal, providerKeys, verifyIdToken } from './oidc';
import { consumeTicket, createTicket, EXCHANGE_TTL_MS, FLOW_TTL_MS, identityFromClaims, resolveIdentity, type Resolution } from './identities.service';

/** An id_token older than this (by `iat`) is refused on the native route. */
const NATIVE_MAX_TOKEN_AGE = '10m';

/**
 * `redirectTo` must match an OAUTH_REDIRECT_ALLOWLIST entry (comma-separated absolute URLs):
 * same origin, and the same path, or under it when the entry ends with `/`. No userinfo, no
 * fragment: the one-time code is appended to the query.
 */
export function allowedRedirect(allowlist: string | undefined, redirectTo: string): URL {
  let target: URL;
  try {
    target = new URL(redirectTo);
  } catch {
    throw redirectNotAllowed();
  }
  if (target.username || target.password || target.hash || !/^https?:$/.test(target.protocol)) throw redirectNotAllowed();
  const ok = (allowlist ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .some((entry) => {
      try {
        const e = new URL(entry);
        return e.origin === target.origin && (e.pathname.endsWith('/') ? target.pathname.startsWith(e.pathname) : target.pathname === e.pathname);
      } catch {
        return false;
      }
    });
  if (!ok) throw redirectNotAllowed();
  return target;
}

interface FlowData {
  verifier: string;
  nonce: string;
  redirectTo: string;
  browserHash: string;
}

/**
 * Starts the browser flow: PKCE S256, state and nonce, stored under the state's hash for 10 min
 * and bound to a random value the caller sets as an HttpOnly cookie (checked at the callback,
 * so a code and state replayed into another browser are refused: login CSRF).
 */
export async function startAuthorization(db: Databases, provider: ProviderConfig, redirectTo: string, callbackUrl: string): Promise<{ location: string; browserBinding: string }> {
  const as = await discover(provider).catch((err: unknown) => {
    throw providerError(`discovery failed: ${String(err)}`);
  });
  if (!as.authorization_endpoint) throw providerError('no authorization endpoint');
  const { verifier, challenge } = await pkcePair();
  const state = randomToken(32);
  const oidc = provider.kind === 'oidc';
  const nonce = oidc ? randomToken(32) : '';
  const browserBinding = randomToken(32);
  const data: FlowData = { verifier, nonce, redirectTo, browserHash: await sha256Hex(browserBinding) };
  await createTicket(db, 'flow', provider.name, FLOW_TTL_MS, data as unknown as Record<string, unknown>, null, state);
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: provider.clientId,
    redirect_uri: callbackUrl,
    response_type: 'code',
    scope: provider.scope,
    state,
    ...(oidc ? { nonce } : {}),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(provider.responseMode === 'form_post' ? { response_mode: 'form_post' } : {}),
  }).toString();
  return { location: url.href, browserBinding };
}

export type CallbackResult = { redirectTo: URL } & ({ ok: true; resolution: Resolution } | { ok: false; error: string; reason: string });

/** The provider's authorization response, as the callback received it. */
export interface CallbackInput {
  /** The query (GET), or the form body (POST, response_mode=form_post). */
  params: URLSearchParams;
  method: 'GET' | 'POST';
  /** The POST's `Origin` header: a browser sends the provider's page origin (or `null`). */
  origin: string | undefined;
  /** The flow cookie's value. */
  browserBinding: string | undefined;
  callbackUrl: string;
}

/** Provider error codes that mean the user said no (Apple: `user_cancelled_authorize`). */
const DENIED = new Set(['access_denied', 'user_cancelled_authorize']);

/**
 * The provider's redirect (or form_post) back. Until the state is proven (known, unspent, same
 * provider, same browser, the response mode we asked for) nothing is trusted, not even its
 * redirectTo: those refusals throw (a 400 here). After that, every outcome goes back to
 * redirectTo, as a one-time code or an `error`.
 */
export async function finishAuthorization(db: Databases, provider: ProviderConfig, input: CallbackInput): Promise<CallbackResult> {
  const { params } = input;
  if (new Set(params.keys()).size !== [...params.keys()].length) throw invalidState('a parameter was sent more than once');
  // A form_post provider never answers in the query (the code would sit in URLs and logs), and a
  // query provider never posts: the response mode we asked for, or nothing.
  if (input.method !== (provider.responseMode === 'form_post' ? 'POST' : 'GET')) throw invalidState('response mode mismatch');
  const state = params.get('state');
  if (!state) throw invalidState('no state');
  if (input.method === 'POST' && input.origin !== undefined && input.origin !== 'null') {
    // Defence in depth beside the state and the browser binding: the form comes from the
    // provider's own page, not from another site posting a code into this browser.
    const as = await discover(provider).catch((err: unknown) => {
      throw providerError(`discovery failed: ${String(err)}`);
    });
    if (input.origin !== new URL(as.authorization_endpoint).origin) throw invalidState('form posted from another origin');
  }
  const ticket = await consumeTicket(db, 'flow', state);
  if (!ticket) throw invalidState('unknown, expired or spent state');
  if (ticket.provider !== provider.name) throw invalidState('state of another provider');
  const data = ticket.data as unknown as FlowData;
  if (!(await timingSafeEqualStrings(await sha256Hex(input.browserBinding ?? ''), data.browserHash))) throw invalidState('browser binding mismatch');
  const redirectTo = new URL(data.redirectTo);
  try {
    const as = await discover(provider);
    const code = authorizationCode(as, params);
    const clientSecret = provider.appleKey ? await appleClientSecret(provider.appleKey, provider.clientId) : provider.clientSecret;
    const tokens = await exchangeCode(as, { clientId: provider.clientId, clientSecret }, code, input.callbackUrl, data.verifier);
    if (provider.kind === 'oauth2-github') {
      return { redirectTo, ok: true, resolution: await resolveIdentity(db, identityFromClaims(provider, await githubClaims(provider, tokens.access_token))) };
    }
    if (!tokens.id_token) return { redirectTo, ok: false, error: 'provider_error', reason: 'no id_token' };
    if (!as.jwks_uri) return { redirectTo, ok: false, error: 'provider_error', reason: 'no jwks_uri' };
    // The token came over TLS from the token endpoint; its signature is checked all the same
    // (defence in depth), with iss, aud, exp, iat, the nonce of this flow and azp.
    const claims = await verifyIdToken(tokens.id_token, providerKeys(as.jwks_uri), { issuer: as.issuer, audiences: [provider.clientId], nonces: [data.nonce] });
    // Apple posts the name once, unsigned, beside the code: used only to name a new account.
    const name = provider.responseMode === 'form_post' ? appleUserName(params.get('user') ?? undefined) : null;
    // Provider tokens are dropped here: we call no provider API after sign-in, so none is stored.
    return { redirectTo, ok: true, resolution: await resolveIdentity(db, { ...identityFromClaims(provider, claims), name }) };
  } catch (err) {
    if (err instanceof ProviderRefusal) {
      log('warn', 'oauth callback refused', { provider: provider.name, reason: err.error });
      return { redirectTo, ok: false, error: DENIED.has(err.error) ? 'access_denied' : 'provider_error', reason: err.error };
    }
    const code = (err as { code?: string }).code;
    if (code === 'OAUTH_LINK_REFUSED') return { redirectTo, ok: false, error: 'link_refused', reason: (err as { reason?: string }).reason ?? '' };
    log('warn', 'oauth callback failed', { provider: provider.name, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), code });
    return { redirectTo, ok: false, error: 'provider_error', reason: code ?? 'exception' };
  }
}

/** The one-time code the callback puts on redirectTo; its hash is stored, 2 min, single use. */
export const issueExchangeCode = (db: Databases, provider: string, userInternalId: number) => createTicket(db, 'exchange', provider, EXCHANGE_TTL_MS, {}, userInternalId);

/**
 * Native sign-in with the id_token a platform SDK returned: signature by the provider's JWKS,
 * iss, aud (the web client id or an app id), exp, iat (at most 10 min old), and the nonce the
 * app sent (raw or SHA-256 hex), which can be used once.
 */
export async function nativeSignIn(db: Databases, provider: ProviderConfig, idToken: string, nonce: string): Promise<Resolution> {
  if (provider.kind !== 'oidc') throw unknownProvider();
  const as = await discover(provider).catch((err: unknown) => {
    throw providerError(`discovery failed: ${String(err)}`);
  });
  if (!as.jwks_uri) throw providerError('no jwks_uri');
  const payload = await verifyIdToken(idToken, providerKeys(as.jwks_uri), { issuer: as.issuer, audiences: provider.audiences, nonces: [nonce, await sha256Hex(nonce)], maxTokenAge: NATIVE_MAX_TOKEN_AGE }).catch(
    (err: unknown) => {
      throw invalidIdToken(err instanceof ProviderRefusal ? err.error : 'verify failed');
    },
  );
  const tokenNonce = String(payload.nonce);
  try {
    await createTicket(db, 'native_nonce', provider.name, FLOW_TTL_MS, {}, null, `${provider.name}:${tokenNonce}`);
  } catch (err) {
    if (isUniqueViolation(err)) throw invalidIdToken('nonce replayed');
    throw err;
  }
  return resolveIdentity(db, identityFromClaims(provider, payload));
}
