import { createExecutionContext, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { notifications } from '../../src/db/schema/app';
import worker from '../../src/index';
import { consumeNotificationDeadLetters } from '../../src/queues/notification-dlq-consumer';
import { registerUser } from '../helpers/api';
import { batchOf, db, emailInput, prepared, record } from '../features/notifications/notification-helpers';

async function waitFor<T>(fn: () => Promise<T | null | undefined>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('notification dead-letter consumer', () => {
  it('marks the record failed with its last reason, audits it and alerts the webhook', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    await db().app.update(notifications).set({ attempts: 9, reason: 'smtp transient: 421 service not available' }).where(eq(notifications.publicId, m!.id));
    const hook = `${inject('smtp').hooksUrl}/dlq-${crypto.randomUUID().slice(0, 8)}`;
    const batch = batchOf([m!], 9, 'app-ubr-notifications-dlq');
    const ctx = createExecutionContext();
    await consumeNotificationDeadLetters(batch, { ...env, ALERT_WEBHOOK_URL: hook });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(1);

    const row = await record(m!.id);
    expect(row).toMatchObject({ status: 'failed', reason: 'dead_letter: smtp transient: 421 service not available', leaseUntil: null });
    expect(row.failedAt).toBeInstanceOf(Date);

    const alerts = (await (await fetch(hook)).json()) as { event: string; count: number; notifications: { id: string; reason: string }[]; text: string }[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ event: 'notification.dead_letter', count: 1, notifications: [{ id: m!.id }] });
    // Never the address or the content.
    expect(JSON.stringify(alerts)).not.toContain(user.email);
    expect(JSON.stringify(alerts)).not.toContain('Hello from the tests');

    const audit = await waitFor(() =>
      env.LOGS_DB.prepare("SELECT action, outcome, level, target_id, details FROM audit_logs WHERE action = 'notification.dead_letter' AND target_id = ?1").bind(user.user.id).first<{ level: string; details: string }>(),
    );
    expect(audit.level).toBe('error');
    expect(JSON.parse(audit.details)).toMatchObject({ notificationId: m!.id, channel: 'email', attempts: 9 });
  });

  it('leaves a notification delivered meanwhile as delivered and raises nothing', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    await db().app.update(notifications).set({ status: 'delivered', deliveredAt: new Date() }).where(eq(notifications.publicId, m!.id));
    const hook = `${inject('smtp').hooksUrl}/dlq-${crypto.randomUUID().slice(0, 8)}`;
    const batch = batchOf([m!], 9, 'app-ubr-notifications-dlq');
    await consumeNotificationDeadLetters(batch, { ...env, ALERT_WEBHOOK_URL: hook });
    expect((await record(m!.id)).status).toBe('delivered');
    expect(await (await fetch(hook)).json()).toEqual([]);
  });

  it('is idempotent: a second dead letter for the same message changes nothing', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    await consumeNotificationDeadLetters(batchOf([m!], 9, 'app-ubr-notifications-dlq'), env);
    const first = await record(m!.id);
    await consumeNotificationDeadLetters(batchOf([m!], 9, 'app-ubr-notifications-dlq'), env);
    const second = await record(m!.id);
    expect(second.reason).toBe(first.reason);
    expect(second.reason).toBe('dead_letter: retries exhausted');
  });

  it('reaches the dead-letter consumer through the Worker queue handler by queue name', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const batch = batchOf([m!], 9, 'app-ubr-notifications-dlq-production');
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await getQueueResult(batch, ctx);
    expect((await record(m!.id)).status).toBe('failed');
  });
});
