import type { RateLimitRule } from '../../lib/config';
import type { LimitResult } from './backend';

/**
 * RateLimit-* (draft-ietf-httpapi-ratelimit-headers, the widely deployed `-07` form) plus the
 * legacy X-RateLimit-* spellings with the same values. Reset is delta seconds until at least
 * one more request is admitted (for a sliding window there is no single window end), which
 * is also the 429's Retry-After.
 */
export function rateLimitHeaders(result: LimitResult, rule: RateLimitRule): Record<string, string> {
  const limit = String(rule.limit);
  const remaining = String(result.remaining);
  const reset = String(result.resetSeconds);
  return {
    'RateLimit-Limit': limit,
    'RateLimit-Remaining': remaining,
    'RateLimit-Reset': reset,
    'RateLimit-Policy': `${rule.limit};w=${rule.windowSeconds}`,
    'X-RateLimit-Limit': limit,
    'X-RateLimit-Remaining': remaining,
    'X-RateLimit-Reset': reset,
  };
}

/** Of several keys (auth tier: IP and account), the one closest to its limit speaks. */
export function tightest(results: readonly LimitResult[]): LimitResult | undefined {
  let best: LimitResult | undefined;
  for (const r of results) {
    if (!best || r.remaining < best.remaining || (r.remaining === best.remaining && r.resetSeconds > best.resetSeconds)) best = r;
  }
  return best;
}
