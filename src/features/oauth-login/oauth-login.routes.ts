import type { Context } from 'hono';
import { eq } from 'drizzle-orm';
import * as z from 'zod/mini';
import { users } from '../../db/schema/auth';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { factory, type AppEnv } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { issuesToDetails } from '../../lib/validation';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';
import { TokenPairResponse } from '../auth/auth.schemas';
import { openSessionFor, type AuthDeps } from '../auth/auth.service';
import { isMfaEnabled, verifySecondFactor } from '../mfa/mfa.service';
import { invalidCode } from './oauth-login.errors';
import { providerConfig, type ProviderConfig } from './oauth-login.providers';
import { AuthorizeQuery, CallbackForm, CallbackQuery, ExchangeBody, IdTokenBody, NativeSignInResponse, ProviderParams } from './oauth-login.schemas';
import { consumeTicket, EXCHANGE_TTL_MS, LINK_TTL_MS, peekTicket, type Resolution } from './identities.service';
import { allowedRedirect, finishAuthorization, type CallbackInput, type CallbackResult, issueExchangeCode, nativeSignIn, startAuthorization } from './oauth-login.service';

/**
 * `__Host-ubr_oauth`, the flow's browser binding: HttpOnly, Secure, Path=/, no Domain (`__Host-`:
 * no sibling or subdomain can set or read it), 10 min. SameSite=Lax is sent on the provider's
 * top-level redirect back (GET). A form_post provider (Apple) sends the browser back with a
 * cross-site POST, which a Lax cookie does not follow: its flows get SameSite=None. That adds no
 * login-CSRF opening: the cookie only binds a state the attacker cannot know (32 random bytes,
 * stored hashed, single use), and an attacker's own code and state posted into a victim's browser
 * carry the victim's binding, not the attacker's. (Browsers that read None as Strict, iOS 12, fail
 * the Apple web flow closed: a 400, never a sign-in.)
 */
const FLOW_COOKIE = '__Host-ubr_oauth';
const flowCookie = (value: string, maxAge: number, provider: ProviderConfig) =>
  `${FLOW_COOKIE}=${value}; Max-Age=${maxAge}; Path=/; HttpOnly; Secure; SameSite=${provider.responseMode === 'form_post' ? 'None' : 'Lax'}`;

/** Where the body middleware accepts an application/x-www-form-urlencoded body under /api (app.ts). */
export const FORM_POST_CALLBACK_PATH = /^\/api\/v1\/auth\/oauth\/[a-z][a-z0-9]{0,31}\/callback$/;

/** The flow cookie of this request (its value is base64url: nothing to decode). */
function readFlowCookie(c: Context<AppEnv>): string | undefined {
  for (const part of (c.req.header('Cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === FLOW_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const authorizeRoute = defineRoute({
  method: 'get',
  path: '/:provider/authorize',
  summary: 'Start social sign-in: 302 to the provider (PKCE S256, state, nonce; redirectTo must be allowlisted)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  request: { params: ProviderParams, query: AuthorizeQuery },
  responses: {
    302: { description: 'To the provider, with the flow cookie set' },
    400: { description: 'redirectTo not on OAUTH_REDIRECT_ALLOWLIST', schema: ErrorResponse, codes: ['OAUTH_REDIRECT_NOT_ALLOWED'] },
    404: { description: 'Unknown or unconfigured provider', schema: ErrorResponse, codes: ['OAUTH_UNKNOWN_PROVIDER'] },
    502: { description: 'Provider discovery failed', schema: ErrorResponse, codes: ['OAUTH_PROVIDER_ERROR'] },
  },
});
const callbackRoute = defineRoute({
  method: 'get',
  path: '/:provider/callback',
  summary: 'The provider redirects here; 302 to redirectTo with `code` (one-time, for POST /auth/oauth/exchange), `link_code` + `error=link_required`, or `error`',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  request: { params: ProviderParams, query: CallbackQuery },
  responses: {
    302: { description: 'To redirectTo (never with our tokens in the URL)' },
    400: { description: 'State unknown, spent, expired, of another provider or another browser; or a form_post provider answering in the query', schema: ErrorResponse, codes: ['OAUTH_INVALID_STATE'] },
    404: { description: 'Unknown provider', schema: ErrorResponse, codes: ['OAUTH_UNKNOWN_PROVIDER'] },
  },
});
const callbackPostRoute = defineRoute({
  method: 'post',
  path: '/:provider/callback',
  summary:
    'response_mode=form_post (Apple): the provider page posts an application/x-www-form-urlencoded body (`code`, `state`, `error`, and on the first authorization `user`, whose name names a new account); 303 to redirectTo as for the GET',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  request: { params: ProviderParams },
  responses: {
    303: { description: 'To redirectTo (never with our tokens in the URL)' },
    400: { description: 'No form body; state unknown, spent, expired, of another provider or another browser; posted from another origin; or a query-mode provider', schema: ErrorResponse, codes: ['OAUTH_INVALID_STATE'] },
    404: { description: 'Unknown provider', schema: ErrorResponse, codes: ['OAUTH_UNKNOWN_PROVIDER'] },
    502: { description: 'Provider discovery failed', schema: ErrorResponse, codes: ['OAUTH_PROVIDER_ERROR'] },
  },
});
const exchangeRoute = defineRoute({
  method: 'post',
  path: '/exchange',
  summary: 'Exchange the one-time code from the callback for a token pair (single use, 2 min)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: ExchangeBody },
  responses: {
    200: { description: 'Signed in', schema: TokenPairResponse },
    400: { description: 'Code invalid, spent or expired', schema: ErrorResponse, codes: ['OAUTH_INVALID_CODE'] },
    401: { description: 'The account has two-factor on: send mfaCode', schema: ErrorResponse, codes: ['MFA_REQUIRED', 'INVALID_MFA_CODE'] },
  },
});
const idTokenRoute = defineRoute({
  method: 'post',
  path: '/:provider/id-token',
  summary: 'Native sign-in with the id_token of the platform SDK and its nonce',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { params: ProviderParams, body: IdTokenBody },
  responses: {
    200: { description: 'Signed in (a new account when the identity and email are new); or link_required (sign in, then POST /auth/identities/link); or mfa_required (POST /auth/oauth/exchange with code and mfaCode)', schema: NativeSignInResponse },
    401: { description: 'id_token refused (signature, iss, aud, exp, iat, nonce, replay)', schema: ErrorResponse, codes: ['OAUTH_INVALID_ID_TOKEN'] },
    404: { description: 'Unknown provider', schema: ErrorResponse, codes: ['OAUTH_UNKNOWN_PROVIDER'] },
    409: { description: 'The email belongs to an account that cannot be linked (unverified on either side)', schema: ErrorResponse, codes: ['OAUTH_LINK_REFUSED', 'EMAIL_TAKEN'] },
    502: { description: 'Provider discovery failed', schema: ErrorResponse, codes: ['OAUTH_PROVIDER_ERROR'] },
  },
});

const authDeps = (c: Context<AppEnv>): AuthDeps => ({ db: c.var.db, env: c.env, config: getConfig(c.env) });
const meta = (c: Context<AppEnv>) => ({ userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null });
const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

function withParams(target: URL, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** The callback's redirect to redirectTo: a one-time code, a pending link, or an `error`. */
async function callbackRedirect(c: Context<AppEnv>, provider: ProviderConfig, result: CallbackResult): Promise<string> {
  if (!result.ok) {
    audit(c, { action: 'oauth.login', outcome: 'failure', details: { provider: provider.name, reason: result.reason.slice(0, 100) } });
    return withParams(result.redirectTo, { error: result.error });
  }
  const r = result.resolution;
  auditResolution(c, provider.name, r, 'web');
  if (r.kind === 'link') return withParams(result.redirectTo, { error: 'link_required', link_code: r.linkCode });
  return withParams(result.redirectTo, { code: await issueExchangeCode(c.var.db, provider.name, r.userInternalId) });
}

/** The flow cookie is spent by any callback, and the rest of the response is read from the callback input. */
function callbackInput(c: Context<AppEnv>, provider: ProviderConfig, method: 'GET' | 'POST', params: URLSearchParams): CallbackInput {
  const browserBinding = readFlowCookie(c);
  c.header('Set-Cookie', flowCookie('', 0, provider), { append: true });
  return { params, method, origin: c.req.header('Origin'), browserBinding, callbackUrl: `${origin(c)}${c.req.path}` };
}

function auditResolution(c: Context<AppEnv>, provider: string, r: Resolution, route: 'web' | 'native') {
  if (r.kind === 'link') audit(c, { action: 'oauth.link_pending', outcome: 'success', targetId: r.userPublicId, details: { provider, route } });
  else audit(c, { action: r.created ? 'oauth.register' : 'oauth.login', outcome: 'success', actorId: r.userPublicId, targetId: r.userPublicId, details: { provider, route } });
}

export const oauthLoginRoutes = factory
  .createApp()
  .get(authorizeRoute.path, endpoint(authorizeRoute), async (c) => {
    const provider = providerConfig(c.env, c.req.valid('param').provider);
    if (!provider.webFlow) throw new AppError(404, 'OAUTH_UNKNOWN_PROVIDER', { reason: 'provider has no web flow' });
    const redirectTo = allowedRedirect(c.env.OAUTH_REDIRECT_ALLOWLIST, c.req.valid('query').redirectTo);
    const callbackUrl = `${origin(c)}${c.req.path.replace(/\/authorize$/, '/callback')}`;
    const { location, browserBinding } = await startAuthorization(c.var.db, provider, redirectTo.href, callbackUrl);
    c.header('Set-Cookie', flowCookie(browserBinding, 600, provider), { append: true });
    return c.redirect(location, 302);
  })
  .get(callbackRoute.path, endpoint(callbackRoute), async (c) => {
    const provider = providerConfig(c.env, c.req.valid('param').provider);
    const input = callbackInput(c, provider, 'GET', new URL(c.req.url).searchParams);
    return c.redirect(await callbackRedirect(c, provider, await finishAuthorization(c.var.db, provider, input)), 302);
  })
  .post(callbackPostRoute.path, endpoint(callbackPostRoute), async (c) => {
    const provider = providerConfig(c.env, c.req.valid('param').provider);
    const form = c.var.formBody;
    if (!form) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: '(body)', message: 'Expected an application/x-www-form-urlencoded body' }] });
    const checked = z.safeParse(CallbackForm, Object.fromEntries(form));
    if (!checked.success) throw new AppError(400, 'VALIDATION_ERROR', { details: issuesToDetails(checked.error.issues) });
    const input = callbackInput(c, provider, 'POST', form);
    // 303: the browser follows with a GET, whatever it posted.
    return c.redirect(await callbackRedirect(c, provider, await finishAuthorization(c.var.db, provider, input)), 303);
  })
  .post(exchangeRoute.path, endpoint(exchangeRoute), async (c) => {
    const { code, mfaCode } = c.req.valid('json');
    const db = c.var.db;
    const live = await peekTicket(db, 'exchange', code);
    if (!live?.userId) throw invalidCode();
    const user = await db.auth.select({ id: users.id, publicId: users.publicId, email: users.email }).from(users).where(eq(users.id, live.userId)).get();
    if (!user) throw invalidCode();
    // Social sign-in is one factor: an account with two-factor on still proves the second. The
    // code is not spent by a missing or wrong second factor (2 min and the auth tier bound it).
    if (await isMfaEnabled(db, user.id)) {
      if (!mfaCode) throw new AppError(401, 'MFA_REQUIRED');
      const ok = await verifySecondFactor({ db, encryptionKey: c.env.MFA_ENCRYPTION_KEY, issuer: '' }, { userInternalId: user.id, userId: user.publicId, email: user.email }, mfaCode);
      if (!ok) throw new AppError(401, 'INVALID_MFA_CODE');
    }
    const spent = await consumeTicket(db, 'exchange', code);
    if (!spent) throw invalidCode();
    const pair = await openSession(authDeps(c), user.id, meta(c));
    audit(c, { action: 'auth.login', outcome: 'success', actorId: user.publicId, targetId: user.publicId, details: { method: 'oauth', provider: spent.provider } });
    return c.json(pair, 200);
  })
  .post(idTokenRoute.path, endpoint(idTokenRoute), async (c) => {
    const provider = providerConfig(c.env, c.req.valid('param').provider);
    const { idToken, nonce } = c.req.valid('json');
    let r: Resolution;
    try {
      r = await nativeSignIn(c.var.db, provider, idToken, nonce);
    } catch (err) {
      if (err instanceof AppError) audit(c, { action: 'oauth.login', outcome: 'failure', details: { provider: provider.name, route: 'native', code: err.code } });
      throw err;
    }
    auditResolution(c, provider.name, r, 'native');
    if (r.kind === 'link') return c.json({ status: 'link_required' as const, provider: provider.name, linkCode: r.linkCode, expiresIn: LINK_TTL_MS / 1000 }, 200);
    if (await isMfaEnabled(c.var.db, r.userInternalId)) {
      // Social sign-in is one factor: the second goes through the exchange, as on the web.
      return c.json({ status: 'mfa_required' as const, code: await issueExchangeCode(c.var.db, provider.name, r.userInternalId), expiresIn: EXCHANGE_TTL_MS / 1000 }, 200);
    }
    return c.json(await openSession(authDeps(c), r.userInternalId, meta(c)), 200);
  });

/** A session for a user the provider just proved; gone meanwhile (deleted) answers like bad credentials. */
async function openSession(deps: AuthDeps, userInternalId: number, clientMeta: Parameters<typeof openSessionFor>[2]) {
  const pair = await openSessionFor(deps, userInternalId, clientMeta);
  if (!pair) throw new AppError(401, 'INVALID_CREDENTIALS');
  return pair;
}
