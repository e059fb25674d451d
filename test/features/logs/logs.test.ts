import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { encodeCursor } from '../../../src/lib/pagination';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { registerAdmin } from '../../helpers/users';

interface LogEntry {
  id: string;
  occurredAt: string;
  level: string;
  action: string;
  outcome: string;
  actorId: string | null;
  targetId: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}
type LogPage = { data: LogEntry[]; nextCursor: string | null };

async function logs(token: string, query: string): Promise<LogPage> {
  const res = await call(`/api/v1/logs?${query}`, { token });
  expect(res.status).toBe(200);
  return json<LogPage>(res);
}

async function insertEvents(n: number, action = 'user.update', at = Date.now()): Promise<void> {
  const stmts = [];
  for (let i = 0; i < n; i++) {
    stmts.push(
      env.LOGS_DB.prepare(
        `INSERT INTO audit_logs (public_id, created_at, updated_at, event_id, occurred_at, level, action, outcome) VALUES (?1, ?2, ?2, ?3, ?2, 'info', ?4, 'success')`,
      ).bind(crypto.randomUUID(), at - i, crypto.randomUUID(), action),
    );
  }
  await env.LOGS_DB.batch(stmts);
}

describe('GET /logs', () => {
  it('records security events through the queue with actor, target, request id, IP and user agent, never the password', async () => {
    const admin = await registerAdmin();
    const ip = freshIp();
    const victim = await registerUser();
    await call('/api/v1/auth/login', { body: { email: victim.email, password: 'wrong password!!' }, ip, headers: { 'User-Agent': 'evil\tagent', 'X-Request-Id': 'req-logs-test-1' } });
    const page = await vi.waitFor(
      async () => {
        const p = await logs(admin.accessToken, `action=auth.login&targetId=${victim.user.id}&outcome=failure`);
        if (p.data.length === 0) throw new Error('not yet');
        return p;
      },
      { timeout: 5000, interval: 100 },
    );
    const entry = page.data[0]!;
    expect(entry).toMatchObject({ action: 'auth.login', outcome: 'failure', level: 'warn', targetId: victim.user.id, requestId: 'req-logs-test-1', ip, userAgent: 'evil\\u0009agent' });
    expect(new Date(entry.occurredAt).toISOString()).toBe(entry.occurredAt);
    const text = JSON.stringify(page);
    expect(text).not.toContain('wrong password!!');
    expect(text).not.toContain(victim.email);
  });

  it('filters by level, actor, action and time range', async () => {
    const admin = await registerAdmin();
    const actor = crypto.randomUUID();
    await env.LOGS_DB.prepare(
      `INSERT INTO audit_logs (public_id, created_at, updated_at, event_id, occurred_at, level, action, outcome, actor_id) VALUES (?1, 1, 1, ?2, ?3, 'error', 'error.unexpected', 'failure', ?4)`,
    )
      .bind(crypto.randomUUID(), crypto.randomUUID(), Date.parse('2026-01-02T00:00:00Z'), actor)
      .run();
    expect((await logs(admin.accessToken, `actorId=${actor}`)).data).toHaveLength(1);
    expect((await logs(admin.accessToken, `actorId=${actor}&level=info`)).data).toHaveLength(0);
    expect((await logs(admin.accessToken, `actorId=${actor}&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z`)).data).toHaveLength(1);
    expect((await logs(admin.accessToken, `actorId=${actor}&from=2026-01-03T00:00:00Z`)).data).toHaveLength(0);
  });

  it('paginates newest first without duplicates or gaps while new events are inserted', async () => {
    const admin = await registerAdmin();
    const action = 'role.update';
    await insertEvents(25, action, Date.parse('2026-03-01T00:00:00Z'));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: LogPage = await logs(admin.accessToken, `action=${action}&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((e) => e.id));
      const times = page.data.map((e) => e.occurredAt);
      expect([...times].sort().reverse()).toEqual(times);
      cursor = page.nextCursor;
      pages += 1;
      if (pages === 1) await insertEvents(5, action); // newer events arrive mid-pagination
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(25);
  });

  it('answers bad cursors and limits with 400, clamps large limits, never 500', async () => {
    const admin = await registerAdmin();
    for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1.5', 'cursor=%%%', 'cursor=bm90LWpzb24', `cursor=${encodeCursor({ id: crypto.randomUUID() })}`, 'level=fatal', 'from=yesterday', 'actorId=1 OR 1=1', 'unknown=1']) {
      const res = await call(`/api/v1/logs?${q}`, { token: admin.accessToken });
      expect(res.status, q).toBe(400);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe('VALIDATION_ERROR');
    }
    await insertEvents(120, 'user.restore');
    expect((await logs(admin.accessToken, 'action=user.restore&limit=100000')).data).toHaveLength(100);
  });

  it('is refused to users without logs:read', async () => {
    const u = await registerUser();
    expect((await call('/api/v1/logs', { token: u.accessToken })).status).toBe(403);
    expect((await call('/api/v1/logs')).status).toBe(401);
  });
});
