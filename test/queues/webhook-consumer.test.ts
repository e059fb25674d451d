import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { notifications, webhookEndpoints } from '../../src/db/schema/app';
import { RESPONSE_LOG_BYTES, webhookBackoffSeconds } from '../../src/features/webhooks-out/webhooks-out.delivery';
import { consumeWebhookDeadLetters } from '../../src/queues/webhook-consumer';
import { call, json } from '../helpers/api';
import { registerAdmin } from '../helpers/users';
import { consume, db, delivery, pendingDelivery, receiver, subscribe, waitFor } from '../features/webhooks-out/webhook-helpers';
import { createMessageBatch } from 'cloudflare:test';

interface AttemptView {
  responseStatus: number | null;
  ok: boolean;
  durationMs: number;
  responseBody: string | null;
}
interface DeliveryPage {
  data: { id: string; status: string; attempts: number; attemptLog: AttemptView[] }[];
  nextCursor: string | null;
}

describe('webhook consumer', () => {
  it('retries after failures with growing, jittered delays, then delivers the same webhook-id', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['user.restored']);
    await r.configure({ fail: 2 });
    const id = await pendingDelivery(ep.id);
    const first = await consume([id], { attempts: 1 });
    expect(first.result.retryMessages).toHaveLength(1);
    const second = await consume([id], { attempts: 2 });
    expect(second.result.retryMessages).toHaveLength(1);
    const d1 = [...first.delays.values()][0]!;
    const d2 = [...second.delays.values()][0]!;
    expect(d1).toBeGreaterThanOrEqual(5);
    expect(d1).toBeLessThanOrEqual(10);
    expect(d2).toBeGreaterThanOrEqual(10);
    expect(d2).toBeLessThanOrEqual(20);
    const third = await consume([id], { attempts: 3 });
    expect(third.result.explicitAcks).toHaveLength(1);
    const got = await r.received();
    expect(got.map((w) => w.answered)).toEqual([500, 500, 204]);
    expect(new Set(got.map((w) => w.id))).toEqual(new Set([id]));
    expect(got.every((w) => w.verifiedWith.length === 1)).toBe(true);
    expect((await delivery(id)).status).toBe('delivered');

    // The per-attempt log: status, duration, the first KiB of the answer.
    const page = await json<DeliveryPage>(await call(`/api/v1/webhooks/endpoints/${ep.id}/deliveries`, { token: admin.accessToken }));
    const row = page.data.find((d) => d.id === id)!;
    expect(row).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(row.attemptLog.map((a) => a.responseStatus)).toEqual([204, 500, 500]);
    expect(row.attemptLog[1]!.responseBody).toHaveLength(RESPONSE_LOG_BYTES);
    expect(row.attemptLog.every((a) => a.durationMs >= 0)).toBe(true);
  });

  it('does not send a delivered event again when its message is redelivered', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['user.restored']);
    const id = await pendingDelivery(ep.id);
    await consume([id]);
    await consume([id, id]);
    expect(await r.received()).toHaveLength(1);
  });

  it('caps the backoff at an hour', () => {
    expect(webhookBackoffSeconds(30, () => 1)).toBe(3600);
    expect(webhookBackoffSeconds(30, () => 0)).toBe(1800);
  });

  it('pauses an endpoint failing for WEBHOOK_BREAKER_HOURS, audits it and tells the admins', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['user.restored']);
    await r.configure({ fail: 100 });
    const breakerEnv = { ...env, WEBHOOK_BREAKER_HOURS: '0.001' } as CloudflareBindings; // 3.6 s
    const t0 = Date.now();
    const a = await pendingDelivery(ep.id);
    expect((await consume([a], { env: breakerEnv, now: () => t0 })).result.retryMessages).toHaveLength(1);
    expect((await consume([a], { env: breakerEnv, now: () => t0 + 2_000, attempts: 2 })).result.retryMessages).toHaveLength(1);
    const last = await consume([a], { env: breakerEnv, now: () => t0 + 4_000, attempts: 3 });
    expect(last.result.explicitAcks).toHaveLength(1);
    expect(await delivery(a)).toMatchObject({ status: 'failed', reason: 'endpoint_paused' });
    const row = await db().app.select().from(webhookEndpoints).where(eq(webhookEndpoints.publicId, ep.id)).get();
    expect(row?.status).toBe('paused');
    const notes = await db()
      .app.select()
      .from(notifications)
      .where(and(eq(notifications.userPublicId, admin.user.id), eq(notifications.kind, 'webhooks.endpoint_paused')))
      .all();
    expect(notes.map((n) => n.channel).sort()).toEqual(['email', 'in_app']);
    await waitFor(async () => (await env.LOGS_DB.prepare("SELECT 1 AS x FROM audit_logs WHERE action = 'webhook.endpoint_paused' AND target_id = ?").bind(ep.id).first()) ?? undefined, 'the audit row');
    // Paused: nothing more is sent.
    const b = await pendingDelivery(ep.id);
    const before = (await r.received()).length;
    await consume([b], { env: breakerEnv });
    expect((await r.received()).length).toBe(before);
    expect((await delivery(b)).reason).toBe('endpoint_paused');

    // Resumed and replayed: the failed delivery goes out through the real queue, same webhook-id.
    await r.configure({ fail: 0 });
    expect((await call(`/api/v1/webhooks/endpoints/${ep.id}`, { token: admin.accessToken, method: 'PATCH', body: { status: 'active' } })).status).toBe(200);
    const replay = await call(`/api/v1/webhooks/deliveries/${a}/replay`, { token: admin.accessToken, method: 'POST' });
    expect(replay.status).toBe(202);
    const got = await waitFor(async () => (await r.received()).find((w) => w.id === a && w.answered === 204), 'the replay');
    expect(got.verifiedWith).toEqual([0]);
    await waitFor(async () => ((await delivery(a)).status === 'delivered' ? true : undefined), 'delivered status');
  });

  it('marks a dead-lettered delivery failed', async () => {
    const admin = await registerAdmin();
    const ep = await subscribe(admin.accessToken, receiver(), ['user.restored']);
    const id = await pendingDelivery(ep.id);
    const batch = createMessageBatch<unknown>('app-ubr-webhooks-dlq', [{ id: 'dlq-1', timestamp: new Date(), attempts: 1, body: { deliveryId: id } }]);
    await consumeWebhookDeadLetters(batch, env);
    expect(await delivery(id)).toMatchObject({ status: 'failed', reason: 'retries_exhausted' });
  });

  it('refuses to send to a target the environment forbids, even if stored earlier', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['user.restored']);
    const id = await pendingDelivery(ep.id);
    await consume([id], { env: { ...env, APP_ENV: 'production' } as CloudflareBindings });
    expect(await delivery(id)).toMatchObject({ status: 'failed', reason: 'url_refused' });
    expect(await r.received()).toHaveLength(0);
  });
});
