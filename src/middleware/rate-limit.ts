import type { Context, MiddlewareHandler, Next } from 'hono';
import { audit } from '../lib/audit';
import { getConfig, type AppConfig, type RateLimitRule } from '../lib/config';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { apiPath, type RateTier, type RouteSpec } from '../lib/route';
import { fromDecision, rateLimitBackend, withTimeout, type LimitResult, type RateLimitBackend } from '../security/rate-limit/backend';
import { accountKey, callerKey, clientIpKey, normaliseEmail } from '../security/rate-limit/client-key';
import { rateLimitHeaders, tightest } from '../security/rate-limit/headers';
import { trustedDevice } from './device';

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
  rule: RateLimitRule;
}

/** Best effort: a refund that fails leaves the slot used, which is the safe direction. */
async function giveBack(backend: RateLimitBackend, taken: Taken[], requestId?: string): Promise<LimitResult[] | null> {
  if (taken.length === 0) return [];
  try {
    return await withTimeout(Promise.all(taken.map((t) => backend.refund(t.key, t.rule, 'exact', t.result.stamp))), AUTH_TIMEOUT_MS);
  } catch (err) {
    log('warn', 'rate limit refund failed', { backend: backend.name, requestId, error: String(err) });
    return null;
  }
}

interface Dimension {
  key: string;
  rule: RateLimitRule;
  name: 'ip' | 'account' | 'device';
  /** A 2xx (or the first step of a two-step sign-in) gives this slot back. */
  refundOnSuccess: boolean;
}

/** The keys an auth-family request is counted on, in the order they are taken. */
async function dimensions(c: Context<AppEnv>, spec: RouteSpec, tier: 'auth' | 'registration' | 'resend', config: AppConfig): Promise<Dimension[]> {
  const rules = config.rateLimits;
  const ip = clientIpKey(c.req.header('CF-Connecting-IP'));
  const refund = spec.refundOnSuccess === true;
  const out: Dimension[] = [
    tier === 'registration'
      ? { key: `register:ip:${ip}`, rule: rules.registration, name: 'ip', refundOnSuccess: false }
      : { key: `auth:ip:${ip}`, rule: rules.auth, name: 'ip', refundOnSuccess: refund && tier === 'auth' },
  ];
  const email = c.var.auth?.email ?? normaliseEmail(c.var.jsonBody);
  if (!email) return out;
  if (tier === 'resend') {
    out.push({ key: await accountKey(email, `resend:${apiPath(spec)}`), rule: rules.verifyResend, name: 'account', refundOnSuccess: false });
    return out;
  }
  const device = spec.deviceBudget ? await trustedDevice(c, email) : null;
  out.push(
    device
      ? { key: `auth:device:${device.deviceId}`, rule: rules.auth, name: 'device', refundOnSuccess: refund }
      : { key: await accountKey(email, apiPath(spec)), rule: rules.auth, name: 'account', refundOnSuccess: refund },
  );
  return out;
}

/**
 * Auth tiers: exact and durable, per IP (IPv6 /64) and per account (normalised email from the
 * JSON body, or the signed-in user's) or per trusted device (a valid device token for that
 * account: see src/security/device-token.ts). The keys are taken one after the other, IP first,
 * and a key that denies gives the earlier ones back: each key then records exactly the attempts
 * that went through, and a burst at the boundary admits exactly `limit` (never more; while a
 * denied attempt briefly holds an IP slot, a parallel one may be refused: the safe side).
 * Fails closed: an unavailable limiter answers 503 with Retry-After.
 */
async function authTier(c: Context<AppEnv>, next: Next, dims: Dimension[], backend: RateLimitBackend, scope: string): Promise<void> {
  const taken: (Taken & { dim: Dimension })[] = [];
  try {
    for (const dim of dims) {
      const result = await withTimeout(backend.consume(dim.key, dim.rule, 'exact'), AUTH_TIMEOUT_MS);
      if (!result.allowed) {
        await giveBack(backend, taken, c.var.requestId);
        // Brute force and stuffing show up in the audit log (the key is hashed or an IP prefix).
        audit(c, { action: 'rate_limit.exceeded', outcome: 'failure', details: { tier: 'auth', route: scope, dimension: dim.name } });
        throw tooManyRequests(result, dim.rule, `auth tier: ${dim.name} limit`);
      }
      taken.push({ key: dim.key, result, rule: dim.rule, dim });
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    await giveBack(backend, taken, c.var.requestId);
    throw unavailable(err, c.var.requestId, backend.name);
  }
  await next();
  // A request refused by schema validation never reached a credential check: it guessed
  // nothing, so it does not spend the budget (business-rule 400s, e.g. a wrong code, still do).
  const schemaRefusal = c.res.status === 400 && c.error instanceof AppError && c.error.schema;
  // "Password right, now the second factor": the first step of a normal two-step sign-in, not
  // a failure. Wrong codes (INVALID_MFA_CODE) still count.
  const secondStep = c.error instanceof AppError && c.error.code === 'MFA_REQUIRED';
  const success = c.res.status >= 200 && c.res.status < 300;
  const refunded = taken.filter((t) => schemaRefusal || (t.dim.refundOnSuccess && (success || secondStep)));
  const after = refunded.length > 0 ? await giveBack(backend, refunded, c.var.requestId) : [];
  const byKey = new Map(refunded.map((t, i) => [t.key, after?.[i] ?? t.result]));
  const results = taken.map((t) => ({ result: byKey.get(t.key) ?? t.result, rule: t.rule }));
  const speaking = tightest(results.map((r) => r.result));
  const closest = results.find((r) => r.result === speaking);
  if (closest) setHeaders(c, closest.result, closest.rule);
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
 * The standard tier's rule when this request is counted inside the session check (the user's
 * UserState object, same RPC: no limiter round trip of its own), else undefined. That is a
 * signed-in session (not an API key) on a route of the default tier, with the Durable Object
 * backend (an Upstash deployment keeps counting in Redis) and no bypass.
 */
export function foldedStandardTier(c: Context<AppEnv>, spec: RouteSpec): { limit: number; windowMs: number } | undefined {
  if (spec.rateLimit !== undefined || c.req.header('X-API-Key') !== undefined) return undefined;
  const config = getConfig(c.env);
  if (config.rateLimitBypass || config.upstash) return undefined;
  const rule = config.rateLimits.standard;
  return { limit: rule.limit, windowMs: rule.windowSeconds * 1000 };
}

/** The standard tier as counted by the session check: same headers and 429 as generalTier. */
async function foldedTier(c: Context<AppEnv>, next: Next, result: LimitResult, rule: RateLimitRule): Promise<void> {
  if (!result.allowed) throw tooManyRequests(result, rule);
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
  return async (c, next) => {
    const config = getConfig(c.env);
    if (config.rateLimitBypass) {
      if (!bypassLogged) log('warn', 'RATE_LIMIT_BYPASS is on: rate limiting disabled (development only)', {});
      bypassLogged = true;
      return next();
    }
    const tier: LimitedTier = declared ?? (c.var.auth ? 'standard' : 'anonymous');
    const folded = tier === 'standard' ? c.var.auth?.standardLimit : undefined;
    if (folded) return foldedTier(c, next, fromDecision(folded), config.rateLimits.standard);
    let backend: RateLimitBackend;
    try {
      backend = rateLimitBackend(c.env);
    } catch (err) {
      // A backend that cannot even be built (e.g. a malformed Upstash URL) is an unavailable one.
      if (tier === 'auth') throw unavailable(err, c.var.requestId, 'unconfigured');
      log('warn', 'rate limiter unavailable; failing open', { tier, requestId: c.var.requestId, error: String(err) });
      return next();
    }
    if (tier === 'auth' || tier === 'registration' || tier === 'resend') {
      return authTier(c, next, await dimensions(c, spec, tier, config), backend, apiPath(spec));
    }
    return generalTier(c, next, tier, config.rateLimits[tier], backend);
  };
};
