import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { backoffSeconds } from '../../src/queues/audit-consumer';
import type { AuditEvent } from '../../src/queues/audit-message';

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventId: crypto.randomUUID(),
    occurredAt: Date.now(),
    level: 'info',
    action: 'auth.login',
    outcome: 'success',
    actorId: crypto.randomUUID(),
    targetId: null,
    requestId: 'req-1',
    ip: '203.0.113.5',
    userAgent: 'test',
    details: { k: 'v' },
    ...overrides,
  };
}

async function count(eventIds: string[]): Promise<number> {
  const placeholders = eventIds.map((_, i) => `?${i + 1}`).join(',');
  const row = await env.LOGS_DB.prepare(`SELECT count(*) AS n FROM audit_logs WHERE event_id IN (${placeholders})`).bind(...eventIds).first<{ n: number }>();
  return row?.n ?? 0;
}

async function deliver(queue: string, bodies: unknown[]) {
  const batch = createMessageBatch(queue, bodies.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe('audit queue consumer', () => {
  it('batch-inserts events and adds nothing when the same batch is redelivered', async () => {
    const events = Array.from({ length: 23 }, () => event());
    const first = await deliver('app-ubr-audit', events);
    expect(first.explicitAcks).toHaveLength(23);
    expect(await count(events.map((e) => e.eventId))).toBe(23);
    const again = await deliver('app-ubr-audit', events);
    expect(again.explicitAcks).toHaveLength(23);
    expect(await count(events.map((e) => e.eventId))).toBe(23);
  });

  it('acks a malformed message (it can never succeed) and still stores the valid ones', async () => {
    const good = event();
    const result = await deliver('app-ubr-audit', [good, { not: 'an event' }, 'text']);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toHaveLength(0);
    expect(await count([good.eventId])).toBe(1);
  });

  it('backs off exponentially from the attempt count, capped at an hour', () => {
    expect([1, 2, 3, 4, 12, 40].map(backoffSeconds)).toEqual([5, 10, 20, 40, 3600, 3600]);
  });

  it('retries the batch with backoff when the database refuses the write', async () => {
    await env.LOGS_DB.prepare(
      "CREATE TRIGGER IF NOT EXISTS fail_audit BEFORE INSERT ON audit_logs WHEN NEW.action = 'user.delete' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    ).run();
    try {
      const result = await deliver('app-ubr-audit', [event({ action: 'user.delete' })]);
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(1);
    } finally {
      await env.LOGS_DB.prepare('DROP TRIGGER fail_audit').run();
    }
  });
});
