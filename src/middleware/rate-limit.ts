import type { Context, MiddlewareHandler, Next } from 'hono';
import { audit } from '../lib/audit';
import { getConfig, type RateLimitRule } from '../lib/config';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import type { RateTier, RouteSpec } from '../lib/route';
import { rateLimitBackend, withTimeout, type LimitResult, type RateLimitBackend } from '../security/rate-limit/backend';
import { accountKey, callerKey, clientIpKey, normaliseEmail } from '../security/rate-limit/client-key';
import { rateLimitHeaders, tightest } from '../security/rate-limit/headers';

/**
 * Routes whose auth-tier slots are given back when they succeed (2xx): a user who signs in or
 * registers is not an attack, so test suites and shared offices are not throttled, while
 * failures (guessing, stuffing, enumeration through 409) stay exactly limited. Opt-in on
 * purpose: a route that answers 2xx to everyone (e.g. "send me a reset link") must never be
 * listed here, or it would be unlimited.
 */
export const REFUND_ON_SUCCESS: ReadonlySet<string> = new Set(['POST /auth/login', 'POST /auth/register']);

/** The auth tier waits a little longer before failing closed; general tiers fail open sooner. */
export const AUTH_TIMEOUT_MS = 2_000;
export const GENERAL_TIMEOUT_MS = 1_000;
/** Retry-After on the auth tier's 503 while the limiter is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 10;

type LimitedTier = Exclude<RateTier, 'none'>;

let bypassLogged = false;

function setHeaders(c: Context<AppEnv>, result: LimitResult | undefined, rule: RateLimitRule): void {
  if (!result) return;
  for (const [name, value] of Object.entries(rateLimitHeaders(result, rule))) c.header(name, value);
}

function tooManyRequests(result: LimitResult, rule: RateLimitRule, reason?: string): AppError {
  return new AppError(429, 'RATE_LIMITED', {
    reason,
    headers: { ...rateLimitHeaders(result, rule), 'Retry-After': String(Math.max(1, result.resetSeconds)) },
  });
}

function unavailable(err: unknown, requestId: string | undefined, backend: string): AppError {
  log('error', 'rate limiter unavailable; auth tier fails closed', { backend, requestId, error: String(err) });
  return new AppError(503, 'SERVICE_UNAVAILABLE', { reason: 'rate limiter unavailable', headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) }, cause: err });
}

interface Taken {
  key: string;
  result: LimitResult;
}

/** Best effort: a refund that fails leaves the slot used, which is the safe direction. */
async function giveBack(backend: RateLimitBackend, rule: RateLimitRule, taken: Taken[], requestId?: string): Promise<LimitResult[] | null> {
  if (taken.length === 0) return [];
  try {
    return await withTimeout(Promise.all(taken.map((t) => backend.refund(t.key, rule, 'exact', t.result.stamp))), AUTH_TIMEOUT_MS);
  } catch (err) {
    log('warn', 'rate limit refund failed', { backend: backend.name, requestId, error: String(err) });
    return null;
  }
}

/**
 * Auth tier: exact and durable, per IP (IPv6 /64) and per account (normalised email from the
 * JSON body, or the signed-in user's). The keys are taken one after the other, IP first, and
 * a key that denies gives the earlier ones back: each key then records exactly the attempts
 * that went through, and a burst at the boundary admits exactly `limit` (never more; while a
 * denied attempt briefly holds an IP slot, a parallel one may be refused: the safe side).
 * Fails closed: an unavailable limiter answers 503 with Retry-After.
 */
async function authTier(c: Context<AppEnv>, next: Next, rule: RateLimitRule, backend: RateLimitBackend, refundOnSuccess: boolean, scope: string): Promise<void> {
  const keys = [`auth:ip:${clientIpKey(c.req.header('CF-Connecting-IP'))}`];
  const email = c.var.auth?.email ?? normaliseEmail(c.var.jsonBody);
  if (email) keys.push(await accountKey(email, scope));
  const taken: Taken[] = [];
  try {
    for (const [i, key] of keys.entries()) {
      const result = await withTimeout(backend.consume(key, rule, 'exact'), AUTH_TIMEOUT_MS);
      if (!result.allowed) {
        await giveBack(backend, rule, taken, c.var.requestId);
        // Brute force and stuffing show up in the audit log (the key is hashed or an IP prefix).
        audit(c, { action: 'rate_limit.exceeded', outcome: 'failure', details: { tier: 'auth', route: scope, dimension: i === 0 ? 'ip' : 'account' } });
        throw tooManyRequests(result, rule, `auth tier: ${i === 0 ? 'ip' : 'account'} limit`);
      }
      taken.push({ key, result });
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    await giveBack(backend, rule, taken, c.var.requestId);
    throw unavailable(err, c.var.requestId, backend.name);
  }
  await next();
  let results = taken.map((t) => t.result);
  // A request refused by schema validation never reached a credential check: it guessed
  // nothing, so it does not spend the budget (business-rule 400s, e.g. a wrong code, still do).
  const schemaRefusal = c.res.status === 400 && c.error instanceof AppError && c.error.schema;
  // "Password right, now the second factor": the first step of a normal two-step sign-in, not
  // a failure. Wrong codes (INVALID_MFA_CODE) still count.
  const secondStep = refundOnSuccess && c.error instanceof AppError && c.error.code === 'MFA_REQUIRED';
  if (schemaRefusal || secondStep || (refundOnSuccess && c.res.status >= 200 && c.res.status < 300)) {
    results = (await giveBack(backend, rule, taken, c.var.requestId)) ?? results;
  }
  setHeaders(c, tightest(results), rule);
}

/**
 * General tiers (anonymous, standard, expensive): one key per caller (API key, user, else
 * IP), counted in the Durable Object's memory and flushed by its alarm: exact under
 * concurrency, no storage write on the request path. Fails open with a logged warning.
 */
async function generalTier(c: Context<AppEnv>, next: Next, tier: LimitedTier, rule: RateLimitRule, backend: RateLimitBackend): Promise<void> {
  let result: LimitResult | undefined;
  try {
    result = await withTimeout(backend.consume(`${tier}:${callerKey(c)}`, rule, 'fast'), GENERAL_TIMEOUT_MS);
  } catch (err) {
    log('warn', 'rate limiter unavailable; failing open', { tier, backend: backend.name, requestId: c.var.requestId, error: String(err) });
  }
  if (result && !result.allowed) throw tooManyRequests(result, rule);
  await next();
  setHeaders(c, result, rule);
}

/**
 * Rate limiting for one route, by its spec's tier (default: `standard` when signed in, else
 * `anonymous`; `none` skips it). Runs inside `guard`, after authentication. Every limited
 * response carries RateLimit-* and X-RateLimit-* headers, errors included; a 429 is the
 * contract's envelope with Retry-After. Backend: Durable Objects, or Upstash when configured.
 * @example const limiter = rateLimit(spec); await limiter(c, next)
 */
export const rateLimit = (spec: RouteSpec): MiddlewareHandler<AppEnv> => {
  const declared = spec.rateLimit;
  if (declared === 'none') return async (_c, next) => next();
  const refundOnSuccess = REFUND_ON_SUCCESS.has(`${spec.method.toUpperCase()} ${spec.path}`);
  return async (c, next) => {
    const config = getConfig(c.env);
    if (config.rateLimitBypass) {
      if (!bypassLogged) log('warn', 'RATE_LIMIT_BYPASS is on: rate limiting disabled (development only)', {});
      bypassLogged = true;
      return next();
    }
    const tier: LimitedTier = declared ?? (c.var.auth ? 'standard' : 'anonymous');
    let backend: RateLimitBackend;
    try {
      backend = rateLimitBackend(c.env);
    } catch (err) {
      // A backend that cannot even be built (e.g. a malformed Upstash URL) is an unavailable one.
      if (tier === 'auth') throw unavailable(err, c.var.requestId, 'unconfigured');
      log('warn', 'rate limiter unavailable; failing open', { tier, requestId: c.var.requestId, error: String(err) });
      return next();
    }
    if (tier === 'auth') return authTier(c, next, config.rateLimits.auth, backend, refundOnSuccess, spec.path);
    return generalTier(c, next, tier, config.rateLimits[tier], backend);
  };
};
