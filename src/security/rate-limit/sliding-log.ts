/**
 * Sliding-window log: the exact form of "at most `limit` requests in any `windowMs`".
 *
 * State is the ascending list of the timestamps (ms) of the requests admitted in the last
 * window; a hit at `t` counts while `now < t + windowMs`. Denied requests are not recorded
 * (a client hammering a closed window recovers as soon as its oldest hit expires).
 * Memory is bounded by `limit` numbers per key. All functions are synchronous and mutate the
 * array in place: the Durable Object runs them with no `await` in between, so parallel
 * requests to one key can never double-spend a slot.
 */
export interface WindowRule {
  limit: number;
  windowMs: number;
}

export interface WindowDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until at least one more request is admitted (≥ 1 when denied). */
  resetMs: number;
  /** The admitted hit's timestamp: hand it back to `refund` to release this exact slot. */
  stamp?: number;
}

/** Drops the hits that left the window. O(expired): the list is ascending. */
export function prune(hits: number[], now: number, windowMs: number): void {
  const cutoff = now - windowMs;
  let expired = 0;
  while (expired < hits.length && hits[expired]! <= cutoff) expired += 1;
  if (expired > 0) hits.splice(0, expired);
}

/** The current state without recording anything. */
export function peek(hits: number[], now: number, rule: WindowRule): WindowDecision {
  prune(hits, now, rule.windowMs);
  const used = hits.length;
  // When full, the slot frees when the hit at index `used - limit` expires (that brings the
  // count to limit - 1); otherwise the next unit comes back when the oldest hit expires.
  const pivot = used >= rule.limit ? hits[used - rule.limit] : hits[0];
  const resetMs = pivot === undefined ? 0 : Math.max(1, pivot + rule.windowMs - now);
  return { allowed: used < rule.limit, limit: rule.limit, remaining: Math.max(0, rule.limit - used), resetMs };
}

/** Admits and records one request if the window has room; never records a denied one. */
export function take(hits: number[], now: number, rule: WindowRule): WindowDecision {
  const before = peek(hits, now, rule);
  if (!before.allowed) return before;
  // Keep the list ascending even if the clock were to step back.
  const stamp = Math.max(now, hits[hits.length - 1] ?? 0);
  hits.push(stamp);
  return { ...peek(hits, now, rule), allowed: true, stamp };
}

/** Releases the slot taken at `stamp` (no-op when it already expired or was refunded). */
export function refund(hits: number[], now: number, rule: WindowRule, stamp: number): WindowDecision {
  const at = hits.lastIndexOf(stamp);
  if (at >= 0) hits.splice(at, 1);
  return peek(hits, now, rule);
}
