// Issue 20, items 2 (queue consumer crashes mid-batch) and 3 (queue chaos): notifications go
// through the real consumer and dead-letter consumer, real D1 and a real HTTP provider (a
// Resend-like stub on 127.0.0.1 that fails 50 % and hangs 10 %), on the Queues contract
// played by queue-harness.ts. Every one must end delivered, failed (dead-lettered) or
// suppressed; none lost; none delivered twice, counted at the provider.
import { env } from 'cloudflare:workers';
import { inArray } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { notifications } from '../../src/db/schema/app';
import { ResendEmailSender } from '../../src/features/notifications/channels/email-resend';
import { consumeNotificationBatch } from '../../src/queues/notification-consumer';
import { consumeNotificationDeadLetters } from '../../src/queues/notification-dlq-consumer';
import type { NotificationMessage } from '../../src/queues/notification-message';
import type { ChaosStats } from '../setup/global-chaos-provider';
import { registerUser } from '../helpers/api';
import { db, prepared } from '../features/notifications/notification-helpers';
import { seeded } from './faulty-d1';
import { drain } from './queue-harness';

const FULL = env.RELIABILITY_FULL === '1';
const COUNT = FULL ? 5000 : 400;
/** The Worker gives up on a hung provider after this (PROVIDER_TIMEOUT_MS is 10 s; the stub hangs 1.5 s). */
const DEADLINE_MS = 250;

/** The platform fetch with a shorter deadline: a hang ends as the sender's own TimeoutError. */
const fetchWithDeadline = (input: RequestInfo | URL, init?: RequestInit) =>
  fetch(input, { ...init, signal: AbortSignal.any([...(init?.signal ? [init.signal] : []), AbortSignal.timeout(DEADLINE_MS)]) });

async function inParallel<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe(`queue chaos (${COUNT} notifications)`, () => {
  it('ends every notification delivered, dead-lettered or suppressed, none lost, none sent twice, with 50 % failures, 10 % hangs and crashed batches', { timeout: FULL ? 900_000 : 240_000 }, async () => {
    const provider = inject('chaosProvider');
    const tag = `chaos${crypto.randomUUID().slice(0, 8)}`;
    const put = await fetch(`${provider}/config/${tag}`, { method: 'PUT', body: JSON.stringify({ failRate: 0.5, timeoutRate: 0.1, hangMs: 1500, seed: 20 }) });
    expect(put.status).toBe(204);

    const users: Awaited<ReturnType<typeof registerUser>>[] = [];
    for (let i = 0; i < 6; i++) users.push(await registerUser());
    // One recipient is deleted after the sends were accepted: its notifications end suppressed.
    const gone = users[5]!;
    const messages = await inParallel(Array.from({ length: COUNT }, (_, i) => i), 25, async (i) => {
      const [m] = await prepared({
        userId: users[i % users.length]!.user.id,
        channels: ['email'],
        category: 'transactional',
        kind: 'chaos.mail',
        content: { title: `chaos ${tag} #${i}`, body: 'Queue chaos' },
      });
      return m!;
    });
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ? WHERE public_id = ?').bind(Date.now(), gone.user.id).run();

    const email = new ResendEmailSender({ apiKey: 're_chaos', from: { name: 'app-ubr', address: 'noreply@example.com' }, baseUrl: `${provider}/${tag}`, fetch: fetchWithDeadline });
    const random = seeded(7);
    const stats = await drain<NotificationMessage>({
      queue: 'app-ubr-notifications',
      dlq: 'app-ubr-notifications-dlq',
      // wrangler.toml: max_batch_size 10, max_retries 8.
      batchSize: 10,
      maxRetries: 8,
      concurrency: 50,
      tickMs: 120_000,
      crashRate: 0.05,
      random,
      messages: messages.map((m) => ({ id: m.id, body: m })),
      consume: (batch, now) => consumeNotificationBatch(batch, env, { channels: { email }, now, random }),
      consumeDeadLetters: (batch) => consumeNotificationDeadLetters(batch, env, { fetch: async () => new Response(null, { status: 204 }) }),
    });

    const ids = messages.map((m) => m.id);
    const rows: { id: string; status: string; reason: string | null; title: string; user: string }[] = [];
    for (let i = 0; i < ids.length; i += 90) {
      rows.push(
        ...(await db()
          .app.select({ id: notifications.publicId, status: notifications.status, reason: notifications.reason, title: notifications.title, user: notifications.userPublicId })
          .from(notifications)
          .where(inArray(notifications.publicId, ids.slice(i, i + 90)))),
      );
    }
    const seen: ChaosStats = await (await fetch(`${provider}/stats/${tag}`)).json();
    const byStatus = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    const twice = Object.entries(seen.deliveries).filter(([, keys]) => keys.length > 1);
    const delivered = rows.filter((r) => r.status === 'delivered');
    const failed = rows.filter((r) => r.status === 'failed');
    const acceptedButFailed = failed.filter((r) => seen.deliveries[r.title]);
    console.log(
      JSON.stringify({ count: COUNT, byStatus, harness: stats, provider: { calls: seen.calls, failed: seen.failed, hung: seen.hung, acceptedHung: seen.acceptedHung, replays: seen.replays, mailboxes: Object.keys(seen.deliveries).length }, twice: twice.length, acceptedButFailed: acceptedButFailed.length }),
    );

    // None lost: every record exists and is settled.
    expect(rows).toHaveLength(COUNT);
    expect(rows.filter((r) => !['delivered', 'failed', 'suppressed'].includes(r.status))).toEqual([]);
    // None delivered twice, counted at the provider: one idempotency key per notification.
    expect(twice).toEqual([]);
    // Every `delivered` record reached the provider's mailbox, exactly once.
    expect(delivered.filter((r) => !seen.deliveries[r.title])).toEqual([]);
    // `failed` only after the retries, through the dead-letter consumer, with the last reason.
    // (A dead letter can also meet a record its crashed first copy delivered meanwhile: ignored.)
    expect(failed.length).toBeLessThanOrEqual(stats.deadLettered);
    expect(failed.filter((r) => !r.reason?.startsWith('dead_letter: '))).toEqual([]);
    // A `failed` record can still have reached a mailbox: the provider took it on a call
    // whose answer was lost (a hang, or a 200 that missed the deadline), then every later try
    // failed. At-least-once delivery cannot tell; it is counted (acceptedButFailed), never
    // sent a second time.
    // Suppressed: exactly the deleted recipient's.
    expect(rows.filter((r) => r.status === 'suppressed').every((r) => r.user === gone.user.id)).toBe(true);
    expect(rows.filter((r) => r.user === gone.user.id && r.status !== 'suppressed')).toEqual([]);
    // The chaos happened: failures, hangs, crashes and dead letters were all exercised.
    expect(seen.failed).toBeGreaterThan(COUNT / 3);
    expect(seen.hung).toBeGreaterThan(COUNT / 20);
    expect(stats.crashes).toBeGreaterThan(0);
    expect(stats.deadLettered).toBeGreaterThan(0);
  });
});
