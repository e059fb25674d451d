import type { Context } from 'hono';
import { audit, type AuditInput } from '../lib/audit';
import { getConfig, type RateLimitRule } from '../lib/config';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { log } from '../lib/log';
import { rateLimitBackend, withTimeout } from '../security/rate-limit/backend';
import { clientIpKey } from '../security/rate-limit/client-key';
import { rateLimitHeaders } from '../security/rate-limit/headers';
import { InvalidTokenError } from '../security/jwt';
import { GENERAL_TIMEOUT_MS } from './rate-limit';

/**
 * Failed authentication costs the caller's IP, not the database. Every failed `X-API-Key` or
 * Bearer authentication takes one slot of `authfail:ip:<ip>` (RATE_LIMIT_AUTH_FAILURES, default
 * 20 / 60 s, general-tier 'fast' mode: no storage write). When the budget is spent the isolate
 * remembers the IP until a slot frees, and every credentialed request from it is answered 429
 * from memory, before any key lookup, signature check or session query. Another isolate learns
 * it on the first failure it sees there (one lookup), so a flood costs `limit` lookups plus one
 * per isolate, not one per request.
 *
 * Trade-off: this is per IP (IPv6 /64), so while a network behind one NAT address is spending
 * its failure budget, valid keys and tokens from that address are refused too (they are not
 * looked up: telling them apart is the expensive work). Bounded to one window, and only after
 * `limit` failures in it. A token we signed that has merely expired does not count: it is a
 * client that should refresh (common behind a busy NAT), not a guess.
 */

export type CredentialKind = 'apikey' | 'bearer';

/** Entries per map below: an attacker with many IPs churns them, memory stays bounded. */
const MAX_TRACKED_IPS = 10_000;
/** At most one audit event per IP, kind and this period (per isolate), with the count it stands for. */
export const AUDIT_SAMPLE_MS = 60_000;

/** IP → until when (ms) its failure budget is spent, as last answered by the limiter. */
const spent = new Map<string, number>();
/** `${action}:${ip}` → when the last event was sent and how many were folded since. */
const sampled = new Map<string, { at: number; folded: number }>();

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  // Re-inserting moves the key to the end: the first key is always the least recently touched.
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_IPS) map.delete(map.keys().next().value!);
}

/** Tests only: forget what this isolate learnt. */
export function forgetAuthFailures(): void {
  spent.clear();
  sampled.clear();
}

const ipOf = (c: Context<AppEnv>) => clientIpKey(c.req.header('CF-Connecting-IP'));

/**
 * Audits at most one event per IP and action per AUDIT_SAMPLE_MS in this isolate; the next one
 * carries `folded`, the number of events it stands for since. A flood of bad credentials thus
 * adds one queue message per attacking IP per minute, not one per request.
 */
export function auditSampled(c: Context<AppEnv>, input: AuditInput & { action: 'apikey.invalid' | 'auth.token_invalid' | 'rate_limit.exceeded' }, now = Date.now()): void {
  const key = `${input.action}:${ipOf(c)}`;
  const last = sampled.get(key);
  if (last && now - last.at < AUDIT_SAMPLE_MS) {
    last.folded += 1;
    return;
  }
  remember(sampled, key, { at: now, folded: 0 });
  audit(c, { ...input, details: { ...input.details, sampled: true, foldedSinceLast: last?.folded ?? 0 } });
}

function tooMany(rule: RateLimitRule, resetSeconds: number): AppError {
  const result = { allowed: false, limit: rule.limit, remaining: 0, resetSeconds };
  return new AppError(429, 'RATE_LIMITED', { reason: 'auth failures: ip budget spent', headers: { ...rateLimitHeaders(result, rule), 'Retry-After': String(resetSeconds) } });
}

/**
 * Before any credential work: 429 when this IP's failure budget is known to be spent. Memory
 * only (no I/O), so valid callers pay nothing for it.
 */
export function assertAuthFailureBudget(c: Context<AppEnv>, now = Date.now()): void {
  const ip = ipOf(c);
  const until = spent.get(ip);
  if (until === undefined) return;
  if (until <= now) {
    spent.delete(ip);
    return;
  }
  auditSampled(c, { action: 'rate_limit.exceeded', outcome: 'failure', details: { tier: 'auth_failures' } }, now);
  throw tooMany(getConfig(c.env).rateLimits.authFailures, Math.max(1, Math.ceil((until - now) / 1000)));
}

/** Whether a 401 from authentication is a failure that counts (a missing header or an expired token does not). */
function counts(err: AppError): boolean {
  if (err.code === 'UNAUTHENTICATED') return false;
  return !(err.cause instanceof InvalidTokenError && err.cause.expired);
}

/**
 * After a failed authentication: audit it (sampled) and spend a slot of the IP's budget. The
 * limiter failing is logged and ignored (fail open, like the general tiers): the 401 stands.
 */
export async function recordAuthFailure(c: Context<AppEnv>, kind: CredentialKind, err: AppError): Promise<void> {
  if (!counts(err)) return;
  auditSampled(c, { action: kind === 'apikey' ? 'apikey.invalid' : 'auth.token_invalid', outcome: 'failure', details: { reason: err.reason ?? err.code } });
  const config = getConfig(c.env);
  if (config.rateLimitBypass) return;
  const rule = config.rateLimits.authFailures;
  const ip = ipOf(c);
  try {
    const result = await withTimeout(rateLimitBackend(c.env).consume(`authfail:ip:${ip}`, rule, 'fast'), GENERAL_TIMEOUT_MS);
    // Spent now (this failure took the last slot) or already: refuse the next ones from memory.
    if (!result.allowed || result.remaining === 0) remember(spent, ip, Date.now() + Math.max(1, result.resetSeconds) * 1000);
  } catch (failure) {
    log('warn', 'auth failure limiter unavailable; not counted', { requestId: c.var.requestId, error: String(failure) });
  }
}
