import type { RateLimiter } from '../../durable-objects/rate-limiter';
import { getConfig, type RateLimitRule } from '../../lib/config';
import type { WindowDecision } from './sliding-log';

/**
 * Build switch (wrangler.toml `[define]`, vitest.config.ts `define`): the Upstash client is ~30 KiB
 * gzip, so it is only in builds that ask for it (`wrangler deploy --define __UPSTASH_BUILD__:true`).
 * In other builds the dead branch below is removed with its dynamic import.
 */
declare const __UPSTASH_BUILD__: boolean;

/**
 * exact: durable and exact (auth tier): every admitted hit is committed before the answer.
 * fast: exact under concurrency but persisted lazily (general tiers): no storage write on
 * the request path.
 */
export type LimitMode = 'exact' | 'fast';

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until at least one more request is admitted (≥ 1 when denied). */
  resetSeconds: number;
  /** Backend handle to release this hit (DO backend: the hit's timestamp). */
  stamp?: number;
}

export interface RateLimitBackend {
  readonly name: 'durable-object' | 'upstash';
  consume(key: string, rule: RateLimitRule, mode: LimitMode): Promise<LimitResult>;
  /** Gives back the slot of an admitted hit and returns the key's state afterwards. */
  refund(key: string, rule: RateLimitRule, mode: LimitMode, stamp?: number): Promise<LimitResult>;
}

export function fromDecision(d: WindowDecision): LimitResult {
  const resetSeconds = Math.ceil(d.resetMs / 1000);
  return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, resetSeconds: d.allowed ? resetSeconds : Math.max(1, resetSeconds), stamp: d.stamp };
}

/** Default backend: one RateLimiter Durable Object per key, sliding-window log. */
export class DurableObjectBackend implements RateLimitBackend {
  readonly name = 'durable-object';

  constructor(private readonly namespace: DurableObjectNamespace<RateLimiter>) {}

  #stub(key: string) {
    return this.namespace.get(this.namespace.idFromName(key));
  }

  async consume(key: string, rule: RateLimitRule, mode: LimitMode): Promise<LimitResult> {
    const decision = await this.#stub(key).consume({ limit: rule.limit, windowMs: rule.windowSeconds * 1000, durable: mode === 'exact' });
    return fromDecision(decision);
  }

  async refund(key: string, rule: RateLimitRule, mode: LimitMode, stamp?: number): Promise<LimitResult> {
    if (stamp === undefined) throw new TypeError('the Durable Object backend needs the hit stamp to refund it');
    const decision = await this.#stub(key).refund({ limit: rule.limit, windowMs: rule.windowSeconds * 1000, durable: mode === 'exact' }, stamp);
    return fromDecision(decision);
  }
}

const backends = new WeakMap<object, RateLimitBackend>();

/**
 * The configured backend: Upstash when UPSTASH_REDIS_REST_URL and _TOKEN are both set,
 * else the Durable Object. One instance per env object, so Upstash's client and its
 * per-limiter caches are reused across requests of an isolate.
 */
export function rateLimitBackend(env: CloudflareBindings): RateLimitBackend {
  const hit = backends.get(env);
  if (hit) return hit;
  const { upstash } = getConfig(env);
  const backend: RateLimitBackend = upstash ? lazyUpstash(upstash) : new DurableObjectBackend(env.RATE_LIMITER);
  backends.set(env, backend);
  return backend;
}

/**
 * The Upstash backend, loaded on first use. A build without it but configured for it has an
 * unavailable limiter: the auth tier fails closed (503), general tiers open, as for any outage.
 */
function lazyUpstash(options: { url: string; token: string }): RateLimitBackend {
  let loaded: Promise<RateLimitBackend> | undefined;
  const load = (): Promise<RateLimitBackend> => {
    if (typeof __UPSTASH_BUILD__ !== 'undefined' && __UPSTASH_BUILD__) {
      loaded ??= import('./upstash-backend').then((m) => new m.UpstashBackend(options));
      return loaded;
    }
    return Promise.reject(new Error('Upstash is configured, but this build excludes it (deploy with --define __UPSTASH_BUILD__:true)'));
  };
  return {
    name: 'upstash',
    consume: async (key, rule, mode) => (await load()).consume(key, rule, mode),
    refund: async (key, rule, mode, stamp) => (await load()).refund(key, rule, mode, stamp),
  };
}

export class LimiterTimeoutError extends Error {
  constructor(ms: number) {
    super(`rate limiter did not answer within ${ms} ms`);
    this.name = 'LimiterTimeoutError';
  }
}

/** A limiter that hangs is a failed limiter: the failure policy applies after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LimiterTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
