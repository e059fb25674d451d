import type { Databases } from '../db/client';
import type { AppConfig } from '../lib/config';

export interface JobContext {
  env: CloudflareBindings;
  db: Databases;
  /** The trigger's scheduled time (ms): every cutoff is computed from it, so a run is reproducible. */
  now: number;
  config: AppConfig;
}

export interface JobResult {
  /** Rows deleted (or updated, for sweeps). */
  affected: number;
  /** Statements (or batches) run. */
  chunks: number;
  /** false: the budget ran out with work left; the next run continues. */
  done: boolean;
  details?: Record<string, number>;
}

export type Job = (ctx: JobContext) => Promise<JobResult>;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * Repeats one bounded step (a DELETE … WHERE id IN (SELECT id … LIMIT n), which binds a
 * handful of parameters however many rows it removes) until a step affects fewer than
 * `chunkSize` rows or `maxChunks` steps have run. Small steps keep D1's single writer free
 * for live traffic between them; the cap bounds the work (and D1 queries) of one run.
 */
export async function inChunks(step: () => Promise<number>, options: { chunkSize: number; maxChunks: number }): Promise<JobResult> {
  let affected = 0;
  let chunks = 0;
  while (chunks < options.maxChunks) {
    const n = await step();
    chunks += 1;
    affected += n;
    if (n < options.chunkSize) return { affected, chunks, done: true };
  }
  return { affected, chunks, done: false };
}

/** Rows changed by a D1 statement. */
export const changes = (r: D1Result) => r.meta.changes ?? 0;

export function merge(results: JobResult[], details?: Record<string, number>): JobResult {
  return {
    affected: results.reduce((n, r) => n + r.affected, 0),
    chunks: results.reduce((n, r) => n + r.chunks, 0),
    done: results.every((r) => r.done),
    details,
  };
}
