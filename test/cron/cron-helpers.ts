import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { runJobs } from '../../src/cron/scheduled';
import worker from '../../src/index';

export const DAY = 86_400_000;

/** Runs the jobs of one trigger at `now` and returns their results. */
export function runAt(cron: string, now = Date.now()) {
  return runJobs({ cron, scheduledTime: now }, env);
}

/** Through the Worker's real scheduled handler, as Cron Triggers call it. */
export async function trigger(cron: string, scheduledTime = Date.now()): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ cron, scheduledTime }), env, ctx);
  await waitOnExecutionContext(ctx);
}

export async function count(db: D1Database, sql: string, ...params: unknown[]): Promise<number> {
  return (await db.prepare(sql).bind(...params).first<number>('n')) ?? 0;
}

/** A bare user row in AUTH_DB (no password work): returns its internal and public ids. */
export async function seedUser(deletedAt: number | null = null): Promise<{ id: number; publicId: string }> {
  const publicId = crypto.randomUUID();
  const row = await env.AUTH_DB.prepare(
    `INSERT INTO users (public_id, created_at, updated_at, email, password_hash, deleted_at) VALUES (?1, ?2, ?2, ?3, 'x', ?4) RETURNING id`,
  )
    .bind(publicId, Date.now(), `${publicId}@example.com`, deletedAt)
    .first<{ id: number }>();
  return { id: row!.id, publicId };
}

export interface SessionSeed {
  expiresAt: number;
  lastUsedAt: number;
  revokedAt?: number | null;
  spent?: number;
}

/** `n` sessions of `userId` in one INSERT … SELECT over a recursive CTE (50k rows in one statement). */
export async function seedSessions(userId: number, n: number, s: SessionSeed): Promise<string> {
  const tag = crypto.randomUUID().slice(0, 8);
  await env.AUTH_DB.prepare(
    `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
     INSERT INTO sessions (public_id, created_at, updated_at, user_id, refresh_hash, generation, expires_at, last_used_at, revoked_at)
     SELECT 'seed-' || ?2 || '-' || n, ?3, ?3, ?4, 'hash-' || ?2 || '-' || n, 0, ?5, ?6, ?7 FROM seq`,
  )
    .bind(n, tag, Date.now(), userId, s.expiresAt, s.lastUsedAt, s.revokedAt ?? null)
    .run();
  if (s.spent) {
    await env.AUTH_DB.prepare(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2)
       INSERT INTO spent_refresh_tokens (public_id, created_at, updated_at, session_id, token_hash)
       SELECT 'spent-' || s.id || '-' || k.i, 0, 0, s.id, 'spent-' || s.id || '-' || k.i FROM sessions s, k WHERE s.public_id LIKE 'seed-' || ?1 || '-%'`,
    )
      .bind(tag, s.spent)
      .run();
  }
  return tag;
}
