// Issue 20, item 4: the retention cron over 100k expired rows (CI: 20k). Each invocation is
// bounded (20 chunks of 1,000 for audit logs), so the backlog goes in several runs, each far
// inside the Workers CPU limit (30 s by default for a Cron Trigger). Measured per invocation
// as wall time inside workerd, which includes local D1's own SQLite work: an upper bound on
// the Worker's CPU time (timers advance on I/O in workerd, so this is the I/O-inclusive span).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { runJobs } from '../../src/cron/scheduled';

const FULL = env.RELIABILITY_FULL === '1';
const ROWS = FULL ? 100_000 : 20_000;
const CPU_LIMIT_MS = 30_000;
const DAY = 86_400_000;

describe(`cron over ${ROWS} expired rows`, () => {
  it('removes the backlog in bounded invocations, each well inside the CPU limit', { timeout: FULL ? 600_000 : 180_000 }, async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const old = Date.now() - 400 * DAY;
    // Seeded in SQL (a recursive CTE, 10k rows per statement): the app's own writes would take minutes.
    for (let done = 0; done < ROWS; done += 10_000) {
      await env.LOGS_DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO audit_logs (public_id, created_at, updated_at, event_id, occurred_at, level, action, outcome, details)
         SELECT ?2 || '-' || (?3 + i), ?4, ?4, ?2 || '-e-' || (?3 + i), ?4 + i, 'info', 'reliability.old', 'success', '{}' FROM n`,
      )
        .bind(Math.min(10_000, ROWS - done), `rel-${tag}`, done, old)
        .run();
    }
    const left = () => env.LOGS_DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE action = 'reliability.old'").first<number>('n');
    expect(await left()).toBeGreaterThanOrEqual(ROWS);

    const runs: { ms: number; auditLogs: number; done: boolean }[] = [];
    for (let i = 0; i < 20 && (await left())! > 0; i++) {
      const t0 = performance.now();
      const results = await runJobs({ cron: '17 3 * * *', scheduledTime: Date.now() }, env);
      runs.push({ ms: Math.round(performance.now() - t0), auditLogs: results.auditLogs?.affected ?? 0, done: results.auditLogs?.done ?? false });
    }
    console.log(JSON.stringify({ cron: { rows: ROWS, runs } }));
    expect(await left()).toBe(0);
    // Bounded: no invocation deleted more than its budget (20 × 1,000), and each stayed far from the limit.
    expect(runs.every((r) => r.auditLogs <= 20_000)).toBe(true);
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(ROWS / 20_000));
    expect(Math.max(...runs.map((r) => r.ms))).toBeLessThan(CPU_LIMIT_MS);
  });
});
