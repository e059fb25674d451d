import { changingUsers } from '../auth/user-state';
import type { Context } from 'hono';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { factory, type AppEnv } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { noStore } from '../../middleware/security-headers';
import { login, revokeSession } from '../auth/auth.service';
import { AuthorizePageError, AuthorizeRedirectError, redirectWith, signRequestTicket, validateAuthorizationRequest, verifyRequestTicket } from './authorize';
import { consentCsp, consentPage, errorPage } from './consent-page';
import { OAuthError } from './oauth.errors';
import { clientCredentials, formParams, oauthForm } from './oauth.form';
import { IntrospectionResponse, OAuthErrorBody, TokenResponse, UserinfoResponse } from './oauth.schemas';
import { authenticateClient, findClient, issueCode, scopesForUser, type OAuthDeps } from './oauth.service';
import { checkAccessToken, exchangeCode, refreshTokens, revokeToken } from './oauth.tokens';
import { loadUserView } from '../users/users.service';
import { sessions, users } from '../../db/schema/auth';
import { and, eq, isNull } from 'drizzle-orm';

/**
 * The OAuth 2.1 / OpenID Connect protocol endpoints, mounted at /oauth (beside /.well-known, not
 * under /api/v1: SPEC "OAuth 2.1 / OpenID Connect provider"). They take form bodies and answer
 * RFC 6749 errors (`{"error": "invalid_grant"}`), not the API's envelope.
 */

const TAGS = ['oauth'];
const OAUTH_ERROR = { description: 'RFC 6749 error', schema: OAuthErrorBody };
const HTML = (description: string) => ({ description });

const deps = (c: Context<AppEnv>): OAuthDeps => ({ db: c.var.db, env: c.env, config: getConfig(c.env) });

function oauthError(c: Context<AppEnv>, err: unknown) {
  if (!(err instanceof OAuthError)) throw err;
  if (err.status === 401) c.header('WWW-Authenticate', err.code === 'invalid_client' ? 'Basic realm="oauth"' : `Bearer error="${err.code}"`);
  c.header('Pragma', 'no-cache');
  return c.json({ error: err.code, error_description: err.description }, err.status);
}

function html(c: Context<AppEnv>, body: string, status: 200 | 400 | 401, csp: string) {
  c.header('Content-Security-Policy', csp);
  return c.html(body, status);
}

const authorizeRoute = defineRoute({
  method: 'get',
  path: '/authorize',
  summary: 'Authorization endpoint: the consent page (authorization code, PKCE S256 only)',
  tags: TAGS,
  access: PUBLIC,
  responses: { 200: HTML('Consent page (HTML)'), 302: HTML('Error redirect to the registered redirect_uri'), 400: HTML('Unknown client or unregistered redirect_uri (HTML, never redirected)') },
});

const approveRoute = defineRoute({
  method: 'post',
  path: '/authorize',
  summary: 'Consent form: sign in and allow or deny (form body: request, email, password, mfa_code, decision)',
  tags: TAGS,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  responses: { 302: HTML('Redirect to the client with code (or error) and state'), 400: HTML('Invalid or expired form (HTML)'), 401: HTML('Sign-in failed: the page again (HTML)') },
});

const tokenRoute = defineRoute({
  method: 'post',
  path: '/token',
  summary: 'Token endpoint: authorization_code (PKCE) and refresh_token (rotation, reuse detection)',
  tags: TAGS,
  access: PUBLIC,
  // Client secrets, codes and refresh tokens are guessed by failing: failures count on the
  // auth tier per IP (5 per 15 min), a 2xx gives its slot back (a working client is not limited).
  rateLimit: 'auth',
  refundOnSuccess: true,
  responses: { 200: { description: 'Tokens', schema: TokenResponse }, 400: OAUTH_ERROR, 401: OAUTH_ERROR },
});

const revokeRoute = defineRoute({
  method: 'post',
  path: '/revoke',
  summary: 'Token revocation (RFC 7009): revokes the token family',
  tags: TAGS,
  access: PUBLIC,
  // Client secrets, codes and refresh tokens are guessed by failing: failures count on the
  // auth tier per IP (5 per 15 min), a 2xx gives its slot back (a working client is not limited).
  rateLimit: 'auth',
  refundOnSuccess: true,
  responses: { 200: { description: 'Revoked, or unknown (always 200)' }, 400: OAUTH_ERROR, 401: OAUTH_ERROR },
});

const introspectRoute = defineRoute({
  method: 'post',
  path: '/introspect',
  summary: 'Token introspection (RFC 7662), for confidential clients',
  tags: TAGS,
  access: PUBLIC,
  // Client secrets, codes and refresh tokens are guessed by failing: failures count on the
  // auth tier per IP (5 per 15 min), a 2xx gives its slot back (a working client is not limited).
  rateLimit: 'auth',
  refundOnSuccess: true,
  responses: { 200: { description: 'Token state', schema: IntrospectionResponse }, 400: OAUTH_ERROR, 401: OAUTH_ERROR },
});

const userinfoRoute = defineRoute({
  method: 'get',
  path: '/userinfo',
  summary: 'OpenID Connect UserInfo (Bearer OAuth access token with the openid scope)',
  tags: TAGS,
  access: PUBLIC,
  responses: { 200: { description: 'Claims', schema: UserinfoResponse }, 401: OAUTH_ERROR, 403: OAUTH_ERROR },
});

async function renderConsent(c: Context<AppEnv>) {
  const d = deps(c);
  try {
    const r = await validateAuthorizationRequest(d, new URL(c.req.url).searchParams);
    return html(c, consentPage(r, await signRequestTicket(c.env, d.config, r)), 200, consentCsp(r.redirectUri));
  } catch (err) {
    if (err instanceof AuthorizePageError) return html(c, errorPage(err.message), 400, consentCsp());
    if (err instanceof AuthorizeRedirectError) {
      return c.redirect(redirectWith(err.redirectUri, { error: err.code, error_description: err.message, state: err.state, iss: d.config.jwtIssuer }), 302);
    }
    throw err;
  }
}

const SIGNIN_FAILED: Record<string, string> = {
  mfa_required: 'Enter your two-factor code.',
  mfa_invalid: 'Invalid two-factor code.',
  locked: 'Too many failed attempts: try again later.',
};

async function approve(c: Context<AppEnv>) {
  const d = deps(c);
  const form = c.var.formBody;
  const p = form ? (formParamsOrNull(form) ?? new Map<string, string>()) : new Map<string, string>();
  const r = await verifyRequestTicket(c.env, d.config, p.get('request'));
  if (!r) return html(c, errorPage('This form has expired or was altered. Start again from the application.'), 400, consentCsp());
  const client = await findClient(d.db, r.clientId);
  if (!client || !client.redirectUris.includes(r.redirectUri)) return html(c, errorPage('Unknown application.'), 400, consentCsp());
  const back = (params: Record<string, string | null>) => c.redirect(redirectWith(r.redirectUri, { ...params, state: r.state, iss: d.config.jwtIssuer }), 302);
  if (p.get('decision') !== 'allow') {
    audit(c, { action: 'oauth.consent_denied', outcome: 'success', details: { clientId: r.clientId } });
    return back({ error: 'access_denied', error_description: 'The user denied the request' });
  }
  const email = (p.get('email') ?? '').trim().toLowerCase();
  const password = p.get('password') ?? '';
  const mfaCode = p.get('mfa_code') || undefined;
  const result =
    email && password.length <= 1024
      ? await login({ db: d.db, env: c.env, config: d.config }, { email, password, mfaCode }, { userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null })
      : ({ ok: false, userId: null, reason: 'unknown_email' } as const);
  if (!result.ok) {
    audit(c, { action: 'oauth.signin_failed', outcome: 'failure', targetId: result.userId, details: { clientId: r.clientId, reason: result.reason } });
    const ticket = await signRequestTicket(c.env, d.config, r);
    return html(c, consentPage(r, ticket, SIGNIN_FAILED[result.reason] ?? 'Invalid email or password.'), 401, consentCsp(r.redirectUri));
  }
  // The sign-in only proves who approves: the session login() opened is closed at once.
  const sessionPublicId = result.pair.refreshToken.split('.')[0]!;
  const row = await d.db.auth
    .select({ sid: sessions.id, uid: users.id })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.publicId, sessionPublicId), isNull(users.deletedAt)))
    .get();
  if (!row) return html(c, errorPage('Sign-in failed.'), 400, consentCsp());
  await changingUsers(c.env, [result.userId], () => revokeSession(d.db, row.sid, 'oauth_consent'));
  const scopes = await scopesForUser(d, client, r.scopes, row.uid);
  const code = await issueCode(d, { client, userInternalId: row.uid, scopes, redirectUri: r.redirectUri, codeChallenge: r.codeChallenge, nonce: r.nonce });
  audit(c, { action: 'oauth.consent', outcome: 'success', actorId: result.userId, targetId: result.userId, details: { clientId: r.clientId, scopes } });
  return back({ code });
}

function formParamsOrNull(form: URLSearchParams) {
  try {
    return formParams(form);
  } catch {
    return null;
  }
}

export const oauthProtocolRoutes = factory
  .createApp()
  .use('*', noStore())
  .get(authorizeRoute.path, endpoint(authorizeRoute), (c) => renderConsent(c))
  .post(approveRoute.path, oauthForm(), endpoint(approveRoute), (c) => approve(c))
  .post(tokenRoute.path, oauthForm(), endpoint(tokenRoute), async (c) => {
    try {
      const p = formParams(c.var.formBody);
      const grantType = p.get('grant_type');
      if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
        throw new OAuthError(400, grantType ? 'unsupported_grant_type' : 'invalid_request', 'grant_type must be authorization_code or refresh_token');
      }
      const client = await authenticateClient(c.var.db, clientCredentials(c.req.header('Authorization'), p));
      c.header('Pragma', 'no-cache');
      if (grantType === 'authorization_code') {
        const code = p.get('code');
        if (!code) throw new OAuthError(400, 'invalid_request', 'code is required');
        const out = await exchangeCode(deps(c), client, { code, redirectUri: p.get('redirect_uri'), codeVerifier: p.get('code_verifier') });
        if (out.replay) {
          audit(c, { action: 'oauth.code_replay', outcome: 'failure', level: 'warn', targetId: out.replay.userPublicId, details: { clientId: client.publicId } });
          throw new OAuthError(400, 'invalid_grant', 'Invalid authorization code');
        }
        return c.json(out.tokens, 200);
      }
      const refreshToken = p.get('refresh_token');
      if (!refreshToken) throw new OAuthError(400, 'invalid_request', 'refresh_token is required');
      const out = await refreshTokens(deps(c), client, refreshToken);
      if ('reuse' in out) {
        if (out.reuse) audit(c, { action: 'oauth.refresh_reuse', outcome: 'failure', level: 'warn', targetId: out.reuse.userPublicId, details: { clientId: client.publicId } });
        throw new OAuthError(400, 'invalid_grant', 'Invalid refresh token');
      }
      return c.json(out.tokens, 200);
    } catch (err) {
      return oauthError(c, err);
    }
  })
  .post(revokeRoute.path, oauthForm(), endpoint(revokeRoute), async (c) => {
    try {
      const p = formParams(c.var.formBody);
      const token = p.get('token');
      if (!token) throw new OAuthError(400, 'invalid_request', 'token is required');
      const client = await authenticateClient(c.var.db, clientCredentials(c.req.header('Authorization'), p));
      await revokeToken(deps(c), client, token);
      return c.body(null, 200);
    } catch (err) {
      return oauthError(c, err);
    }
  })
  .post(introspectRoute.path, oauthForm(), endpoint(introspectRoute), async (c) => {
    try {
      const p = formParams(c.var.formBody);
      const token = p.get('token');
      if (!token) throw new OAuthError(400, 'invalid_request', 'token is required');
      const client = await authenticateClient(c.var.db, clientCredentials(c.req.header('Authorization'), p));
      // Only confidential clients (resource servers) may introspect: a public client proves nothing.
      if (client.type !== 'confidential') throw new OAuthError(401, 'invalid_client', 'Introspection needs a confidential client');
      const active = await checkAccessToken(deps(c), token);
      if (!active) return c.json({ active: false }, 200);
      const config = getConfig(c.env);
      return c.json(
        { active: true, scope: active.scopes.join(' '), client_id: active.clientId, sub: active.sub, exp: active.claims.exp, iat: active.claims.iat, iss: config.jwtIssuer, aud: `${config.jwtAudience}/oauth`, jti: active.claims.jti, token_type: 'Bearer' },
        200,
      );
    } catch (err) {
      return oauthError(c, err);
    }
  })
  .get(userinfoRoute.path, endpoint(userinfoRoute), async (c) => {
    try {
      const m = /^bearer +(\S+)$/i.exec(c.req.header('Authorization') ?? '');
      if (!m) {
        c.header('WWW-Authenticate', 'Bearer');
        return c.json({ error: 'invalid_token', error_description: 'A Bearer access token is required' }, 401);
      }
      const active = await checkAccessToken(deps(c), m[1]!);
      if (!active) throw new OAuthError(401, 'invalid_token', 'The access token is invalid, expired or revoked');
      if (!active.scopes.includes('openid')) throw new OAuthError(403, 'insufficient_scope', 'The openid scope is required');
      const user = await loadUserView(c.var.db, active.sub);
      if (!user) throw new OAuthError(401, 'invalid_token', 'The access token is invalid, expired or revoked');
      return c.json(
        {
          sub: user.id,
          ...(active.scopes.includes('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
          ...(active.scopes.includes('profile') ? { name: user.fullName } : {}),
        },
        200,
      );
    } catch (err) {
      return oauthError(c, err);
    }
  });
