import { DurableObject } from 'cloudflare:workers';
import * as z from 'zod/mini';
import { peek, prune, refund, take, type WindowDecision } from '../security/rate-limit/sliding-log';

/**
 * Deferred-mode hits are written to storage at most this often (and one `setAlarm` per
 * interval). What an eviction or crash can lose is bounded by it: at most one interval of
 * counts for one key. Exact mode never loses anything.
 */
export const FLUSH_INTERVAL_MS = 10_000;

const STATE_KEY = 'window';

/** What the Worker sends per call; checked again here because this class is a trust boundary. */
const LimiterCall = z.object({
  limit: z.int().check(z.gte(1), z.lte(100_000)),
  windowMs: z.int().check(z.gte(1_000), z.lte(7 * 86_400_000)),
  /** true: every admitted hit is committed before the answer leaves (auth tier). */
  durable: z.boolean(),
});
export type LimiterCall = z.infer<typeof LimiterCall>;

interface StoredWindow {
  windowMs: number;
  hits: number[];
}

/**
 * One object per rate-limit key (`idFromName(key)`), never one global object: keys spread
 * over objects, and each object serialises only its own key's requests.
 *
 * Every RPC method below is synchronous: the read-check-write runs as one uninterrupted turn
 * of the object's single thread over SQLite-backed synchronous storage (`ctx.storage.kv`), so
 * N parallel requests at the boundary admit exactly `limit`. Two modes per call:
 * - durable (auth tier): the hit list is written on every admitted request; the output gate
 *   holds the answer until the write is committed, so a crash never forgets an attempt.
 * - deferred (general tiers): hits live in memory and an alarm flushes them every
 *   FLUSH_INTERVAL_MS, so the request path pays no storage write.
 * The alarm also deletes the whole state once the window is empty: an idle key costs nothing.
 */
export class RateLimiter extends DurableObject<CloudflareBindings> {
  #hits: number[] | null = null;
  #windowMs = 0;
  #dirty = false;
  /** The alarm this instance scheduled (null: none known; storage may hold an older one). */
  #alarmAt: number | null = null;

  /** Liveness probe used by GET /health. */
  ping(): string {
    return 'pong';
  }

  /** Admits and records one request if the key's window has room. */
  consume(call: LimiterCall): WindowDecision {
    const rule = LimiterCall.parse(call);
    const hits = this.#load(rule.windowMs);
    const decision = take(hits, Date.now(), rule);
    if (decision.allowed) this.#changed(hits, rule.durable);
    return decision;
  }

  /** Releases the slot taken at `stamp` (e.g. a successful login); returns the new state. */
  refund(call: LimiterCall, stamp: number): WindowDecision {
    const rule = LimiterCall.parse(call);
    if (!Number.isFinite(stamp)) throw new TypeError('refund stamp must be a finite number');
    const hits = this.#load(rule.windowMs);
    const before = hits.length;
    const decision = refund(hits, Date.now(), rule, stamp);
    if (hits.length !== before) this.#changed(hits, rule.durable);
    return decision;
  }

  /** Read-only view (tests, diagnostics). */
  inspect(call: LimiterCall): WindowDecision {
    const rule = LimiterCall.parse(call);
    return peek(this.#load(rule.windowMs), Date.now(), rule);
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const hits = this.#load(this.#windowMs);
    if (this.#windowMs > 0) prune(hits, Date.now(), this.#windowMs);
    const newest = hits[hits.length - 1];
    if (newest === undefined || this.#windowMs === 0) {
      // Idle: drop everything so the object holds no storage at all.
      this.#hits = [];
      this.#dirty = false;
      this.ctx.storage.kv.delete(STATE_KEY);
      await this.ctx.storage.deleteAll();
      return;
    }
    if (this.#dirty) this.#persist(hits);
    // Wake up again when the last hit expires, to delete the state.
    this.#schedule(newest + this.#windowMs);
  }

  #load(windowMs: number): number[] {
    if (this.#hits === null) {
      const stored = this.ctx.storage.kv.get<StoredWindow>(STATE_KEY);
      this.#hits = stored?.hits ?? [];
      this.#windowMs = stored?.windowMs ?? 0;
    }
    // A changed window (new config) applies from the next decision on; the log stays valid.
    if (windowMs > 0) this.#windowMs = windowMs;
    return this.#hits;
  }

  #changed(hits: number[], durable: boolean): void {
    const now = Date.now();
    if (durable) {
      this.#persist(hits);
      // One alarm per window at most: it reschedules itself while hits remain.
      if (this.#alarmAt === null) this.#schedule((hits[hits.length - 1] ?? now) + this.#windowMs);
      return;
    }
    this.#dirty = true;
    const flushAt = now + FLUSH_INTERVAL_MS;
    if (this.#alarmAt === null || this.#alarmAt > flushAt) this.#schedule(flushAt);
  }

  #persist(hits: number[]): void {
    this.ctx.storage.kv.put<StoredWindow>(STATE_KEY, { windowMs: this.#windowMs, hits });
    this.#dirty = false;
  }

  #schedule(at: number): void {
    this.#alarmAt = at;
    // Not awaited on purpose: the write is queued in order and the output gate holds the
    // answer until it is durable; awaiting would open the critical section to other calls.
    void this.ctx.storage.setAlarm(at);
  }
}
