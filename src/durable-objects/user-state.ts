import { DurableObject } from 'cloudflare:workers';
import * as z from 'zod/mini';
import { createDatabases } from '../db/client';
import { findSessionSnapshot, type SessionSnapshot } from '../features/auth/caller.repository';
import { readProfileName } from '../features/users/users.service';
import { prune, take, type WindowDecision } from '../security/rate-limit/sliding-log';

/**
 * A hold that is never released (the writer's isolate died between its D1 write and the
 * release) stops caching for this long: every check reads D1 meanwhile. Longer than any D1
 * write can take (D1 ends a query after 30 s), so the write is committed when caching resumes.
 */
export const HOLD_MS = 60_000;
/** The standard-tier hits are written to storage at most this often (as in RateLimiter). */
export const FLUSH_INTERVAL_MS = 10_000;

const HOLDS_KEY = 'holds';
const HITS_KEY = 'hits';

/** What the Worker sends; checked again here because this class is a trust boundary. */
const CheckCall = z.object({
  userId: z.string().check(z.minLength(1), z.maxLength(64)),
  sessionId: z.string().check(z.minLength(1), z.maxLength(64)),
  /** The standard tier's rule when this request is counted here; absent: not counted. */
  limit: z.optional(z.object({ limit: z.int().check(z.gte(1), z.lte(100_000)), windowMs: z.int().check(z.gte(1_000), z.lte(7 * 86_400_000)) })),
});
export type CheckCall = z.input<typeof CheckCall>;
const Token = z.string().check(z.minLength(8), z.maxLength(64));

export interface CallerAnswer {
  caller: SessionSnapshot;
  profile: { fullName: string | null } | null;
  limit?: WindowDecision;
}

interface Entry extends CallerAnswer {
  expiresAt: number;
}

/**
 * One object per user (`idFromName(userPublicId)`): the hot path's one round trip. It answers
 * "is this session live, who is this, may they pass the standard tier" from memory, and reads
 * D1 (the system of record: session, user, roles and permissions in one statement, plus the
 * profile) only on a miss.
 *
 * Consistency: every write that can change an answer (session revocation, deletion, password,
 * roles, role permissions, profile) runs between `hold(token)` and `release(token)` (see
 * src/features/auth/user-state.ts). A hold empties the cache and, while any hold is open, no
 * answer is cached: each check reads D1. A load that was in flight when a hold or release
 * arrived is answered but not cached (generation counter). Holds are in durable storage, so
 * an eviction cannot forget one; a writer that never releases leaves the object reading D1
 * until HOLD_MS passes. Dead sessions are never cached.
 */
export class UserState extends DurableObject<CloudflareBindings> {
  #entries = new Map<string, Entry>();
  #generation = 0;
  #holds: Record<string, number> | null = null;
  #hits: number[] | null = null;
  #windowMs = 0;
  #dirty = false;
  #alarmAt: number | null = null;

  /** The session's caller (null: dead session, deleted user or not this user's session). */
  async check(call: CheckCall): Promise<CallerAnswer | null> {
    const input = CheckCall.parse(call);
    const now = Date.now();
    let entry = this.#entries.get(input.sessionId);
    if (entry && (entry.expiresAt <= now || entry.caller.public_id !== input.userId)) {
      this.#entries.delete(input.sessionId);
      entry = undefined;
    }
    if (!entry) {
      const generation = this.#generation;
      const loaded = await this.#load(input.userId, input.sessionId, now);
      if (!loaded) return null;
      entry = loaded;
      if (generation === this.#generation && !this.#held(Date.now())) this.#entries.set(input.sessionId, entry);
    }
    if (!input.limit) return { caller: entry.caller, profile: entry.profile };
    return { caller: entry.caller, profile: entry.profile, limit: this.#take(input.limit) };
  }

  /** Before a write: empties the cache and stops caching until `release(token)` (or HOLD_MS). */
  hold(token: string): void {
    const key = Token.parse(token);
    const holds = this.#loadHolds();
    holds[key] = Date.now() + HOLD_MS;
    this.ctx.storage.kv.put(HOLDS_KEY, holds);
    this.#forget();
  }

  /** After the write (committed or failed): the next check reads D1 again. */
  release(token: string): void {
    const key = Token.parse(token);
    const holds = this.#loadHolds();
    if (key in holds) {
      delete holds[key];
      if (Object.keys(holds).length === 0) this.ctx.storage.kv.delete(HOLDS_KEY);
      else this.ctx.storage.kv.put(HOLDS_KEY, holds);
    }
    this.#forget();
  }

  /** A change that revokes nothing (e.g. a verified email): the next check reads D1. */
  forget(): void {
    this.#forget();
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const hits = this.#loadHits();
    if (this.#windowMs > 0) prune(hits, Date.now(), this.#windowMs);
    const newest = hits[hits.length - 1];
    if (newest === undefined) {
      this.#dirty = false;
      this.ctx.storage.kv.delete(HITS_KEY);
      return;
    }
    if (this.#dirty) this.#persistHits(hits);
    this.#schedule(newest + this.#windowMs);
  }

  async #load(userId: string, sessionId: string, now: number): Promise<Entry | null> {
    const db = createDatabases(this.env);
    const [caller, profile] = await Promise.all([findSessionSnapshot(this.env.AUTH_DB, sessionId, userId, now), readProfileName(db, userId)]);
    if (!caller) return null;
    return { caller, profile: profile ?? null, expiresAt: caller.expires_at };
  }

  #forget(): void {
    this.#generation += 1;
    this.#entries.clear();
  }

  #loadHolds(): Record<string, number> {
    this.#holds ??= this.ctx.storage.kv.get<Record<string, number>>(HOLDS_KEY) ?? {};
    return this.#holds;
  }

  #held(now: number): boolean {
    const holds = this.#loadHolds();
    for (const until of Object.values(holds)) if (until > now) return true;
    return false;
  }

  #loadHits(): number[] {
    if (this.#hits === null) {
      const stored = this.ctx.storage.kv.get<{ windowMs: number; hits: number[] }>(HITS_KEY);
      this.#hits = stored?.hits ?? [];
      this.#windowMs = stored?.windowMs ?? 0;
    }
    return this.#hits;
  }

  /** Standard tier: the sliding-window log of RateLimiter, deferred writes (no write per request). */
  #take(rule: { limit: number; windowMs: number }): WindowDecision {
    const hits = this.#loadHits();
    this.#windowMs = rule.windowMs;
    const decision = take(hits, Date.now(), rule);
    if (decision.allowed) {
      this.#dirty = true;
      const flushAt = Date.now() + FLUSH_INTERVAL_MS;
      if (this.#alarmAt === null || this.#alarmAt > flushAt) this.#schedule(flushAt);
    }
    return decision;
  }

  #persistHits(hits: number[]): void {
    this.ctx.storage.kv.put(HITS_KEY, { windowMs: this.#windowMs, hits });
    this.#dirty = false;
  }

  #schedule(at: number): void {
    this.#alarmAt = at;
    // Not awaited: the output gate holds the answer until the alarm write is durable.
    void this.ctx.storage.setAlarm(at);
  }
}
