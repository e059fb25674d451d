import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis/cloudflare';
import type { RateLimitRule } from '../../lib/config';
import type { LimitMode, LimitResult, RateLimitBackend } from './backend';

export interface UpstashBackendOptions {
  url: string;
  token: string;
  /** Redis key prefix, so one database can serve several apps or environments. */
  prefix?: string;
}

/**
 * Optional backend on Upstash Redis (REST), chosen by configuration. Same tiers, keys and
 * headers as the Durable Object backend. Algorithm: @upstash/ratelimit's sliding window
 * (two fixed windows, the previous one weighted by overlap), run as one Lua script, so
 * parallel requests never double-spend; it approximates the DO's exact sliding log.
 * Refunds use the library's negative `rate`.
 */
export class UpstashBackend implements RateLimitBackend {
  readonly name = 'upstash';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #limiters = new Map<string, Ratelimit>();

  constructor(options: UpstashBackendOptions) {
    this.#prefix = options.prefix ?? 'app-ubr:rl';
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      // One quick retry at most: the middleware's own timeout and failure policy decide the rest.
      retry: { retries: 1, backoff: () => 25 },
      enableTelemetry: false,
    });
  }

  #limiter(rule: RateLimitRule, mode: LimitMode): Ratelimit {
    const id = `${rule.limit}/${rule.windowSeconds}/${mode}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.#redis,
        limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowSeconds} s`),
        prefix: this.#prefix,
        analytics: false,
        // The library's own timeout *allows* the request when Redis is slow: that would make
        // the auth tier fail open, so it is off and the middleware's timeout applies instead.
        timeout: 0,
        // The in-isolate cache of blocked ids saves a round trip for general tiers; the auth
        // tier asks Redis every time so a refund is seen at once by every isolate.
        ephemeralCache: mode === 'exact' ? false : undefined,
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }

  #result(r: { success: boolean; limit: number; remaining: number; reset: number }): LimitResult {
    const resetSeconds = Math.max(0, Math.ceil((r.reset - Date.now()) / 1000));
    return { allowed: r.success, limit: r.limit, remaining: r.remaining, resetSeconds: r.success ? resetSeconds : Math.max(1, resetSeconds) };
  }

  async consume(key: string, rule: RateLimitRule, mode: LimitMode): Promise<LimitResult> {
    return this.#result(await this.#limiter(rule, mode).limit(key));
  }

  async refund(key: string, rule: RateLimitRule, mode: LimitMode): Promise<LimitResult> {
    const r = await this.#limiter(rule, mode).limit(key, { rate: -1 });
    return { ...this.#result(r), allowed: true };
  }
}
