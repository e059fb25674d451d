import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { notifications } from '../../../src/db/schema/app';
import { notify } from '../../../src/features/notifications/notifications.service';
import { AppError } from '../../../src/lib/errors';
import { db, emailInput, record, registerQuietUser as registerUser } from './notification-helpers';

/** NOTIFY_QUEUE wrapped to count what notify() enqueues (the real queue still receives it). */
function countingQueue(fail = false) {
  const sent: unknown[] = [];
  const queue = {
    send: (body: unknown) => env.NOTIFY_QUEUE.send(body),
    sendBatch: async (messages: Iterable<MessageSendRequest>) => {
      if (fail) throw new Error('queue unavailable');
      sent.push(...[...messages].map((m) => m.body));
      return env.NOTIFY_QUEUE.sendBatch(messages);
    },
  } as unknown as Queue;
  return { queue, sent };
}

async function validationFields(input: Record<string, unknown>): Promise<string[]> {
  const { queue } = countingQueue();
  try {
    await notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, input as never);
  } catch (err) {
    if (err instanceof AppError && err.code === 'VALIDATION_ERROR') return (err.details ?? []).map((d) => d.field);
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('notify() — the one producer API', () => {
  it('records one queued notification per channel and enqueues them in one batch', async () => {
    const user = await registerUser();
    const { queue, sent } = countingQueue();
    const result = await notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, emailInput(user.user.id, { channels: ['email', 'in_app'] }) as never);
    expect(result.notifications.map((n) => [n.channel, n.status, n.duplicate])).toEqual([
      ['email', 'queued', false],
      ['in_app', 'queued', false],
    ]);
    expect(sent).toHaveLength(2);
    const inApp = await record(result.notifications[1]!.id);
    expect(inApp).toMatchObject({ status: 'queued', channel: 'in_app', title: 'Hello', body: 'Hello from the tests', userPublicId: user.user.id });
    expect(inApp.idempotencyKey).toMatch(/:in_app$/);
    // The email's body never rests in the database.
    expect((await record(result.notifications[0]!.id)).body).toBeNull();
  });

  it('enqueues nothing the second time the same idempotency key is used', async () => {
    const user = await registerUser();
    const { queue, sent } = countingQueue();
    const input = emailInput(user.user.id, { idempotencyKey: `welcome:${user.user.id}` });
    const first = await notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, input as never);
    const second = await notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, input as never);
    expect(second.notifications[0]).toMatchObject({ id: first.notifications[0]!.id, duplicate: true });
    expect(sent).toHaveLength(1);
    const rows = await db().app.select().from(notifications).where(eq(notifications.userPublicId, user.user.id));
    expect(rows).toHaveLength(1);
  });

  it('refuses to reuse another user’s idempotency key (409), without revealing that record', async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const { queue } = countingQueue();
    const key = `shared-key-${crypto.randomUUID()}`;
    await notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, emailInput(a.user.id, { idempotencyKey: key }) as never);
    await expect(notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, emailInput(b.user.id, { idempotencyKey: key }) as never)).rejects.toMatchObject({ status: 409 });
  });

  it('marks the records failed and answers 503 when the queue refuses the batch', async () => {
    const user = await registerUser();
    const { queue } = countingQueue(true);
    await expect(notify({ db: db(), env: { NOTIFY_QUEUE: queue } }, emailInput(user.user.id) as never)).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    const rows = await db().app.select().from(notifications).where(eq(notifications.userPublicId, user.user.id));
    expect(rows.map((r) => [r.status, r.reason])).toEqual([['failed', 'enqueue_failed']]);
  });

  it('validates against the shared message schema, reporting every field at once', async () => {
    const userId = crypto.randomUUID();
    expect(await validationFields(emailInput(userId, { channels: ['sms_transactional'], content: { title: 'x', body: 'y'.repeat(1601) } }))).toEqual(['to.phone', 'content.body']);
    expect(await validationFields(emailInput(userId, { channels: ['sms_transactional'], category: 'marketing', to: { phone: '+14155550100' } }))).toEqual(['channels']);
    expect(await validationFields(emailInput(userId, { channels: ['sms_promotional'], to: { phone: '+14155550100' } }))).toEqual(['channels']);
    expect(await validationFields(emailInput(userId, { channels: ['email', 'email'] }))).toEqual(['channels']);
    expect(await validationFields(emailInput(userId, { channels: ['fax'] }))).toEqual(['channels.0']);
    expect(await validationFields(emailInput(userId, { to: { phone: '0612345678' } }))).toEqual(['to.phone']);
    expect(await validationFields(emailInput(userId, { kind: 'Bad Kind!' }))).toEqual(['kind']);
    expect(await validationFields({ ...emailInput(userId), extra: 1 })).toEqual(['extra']);
  });

  it('refuses header injection and reserved push keys before anything is recorded', async () => {
    const userId = crypto.randomUUID();
    expect(await validationFields(emailInput(userId, { content: { title: 'Hi\r\nBcc: victim@example.com', body: 'x' } }))).toEqual(['content.title']);
    expect(await validationFields(emailInput(userId, { to: { email: 'a@example.com\r\nBcc: victim@example.com' } }))).toEqual(['to.email']);
    expect(await validationFields(emailInput(userId, { to: { email: 'a@example.com>,<victim@example.com' } }))).toEqual(['to.email']);
    expect(await validationFields(emailInput(userId, { content: { title: 'x', body: 'x\u0000y' } }))).toEqual(['content.body']);
    expect(await validationFields(emailInput(userId, { content: { title: 'x', body: 'x', data: { 'google.c.a': '1' } } }))).toEqual(['content.data.google.c.a']);
    const rows = await db().app.select().from(notifications).where(eq(notifications.userPublicId, userId));
    expect(rows).toEqual([]);
  });
});
