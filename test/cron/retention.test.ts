import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DEVICE_STALE_MS } from '../../src/cron/devices.job';
import { STALE_AFTER_MS } from '../../src/cron/notifications.job';
import { ORPHAN_CURSOR_KEY } from '../../src/cron/orphan-profiles.job';
import { jobsFor } from '../../src/cron/scheduled';
import { TWILIO_INBOUND_RETENTION_MS } from '../../src/cron/twilio-inbound.job';
import { count, DAY, runAt, seedUser, trigger } from './cron-helpers';

const DAILY = '17 3 * * *';

async function auditRow(occurredAt: number): Promise<string> {
  const id = crypto.randomUUID();
  await env.LOGS_DB.prepare(
    `INSERT INTO audit_logs (public_id, created_at, updated_at, event_id, occurred_at, level, action, outcome) VALUES (?1, ?2, ?2, ?1, ?2, 'info', 'auth.login', 'success')`,
  )
    .bind(id, occurredAt)
    .run();
  return id;
}

async function notificationRow(userId: string, status: string, createdAt: number, extra: { updatedAt?: number; notBefore?: number | null } = {}): Promise<string> {
  const id = crypto.randomUUID();
  await env.APP_DB.prepare(
    `INSERT INTO notifications (public_id, created_at, updated_at, user_public_id, channel, category, kind, idempotency_key, status, title, not_before)
     VALUES (?1, ?2, ?3, ?4, 'email', 'transactional', 'x', ?1, ?5, 'x', ?6)`,
  )
    .bind(id, createdAt, extra.updatedAt ?? createdAt, userId, status, extra.notBefore ?? null)
    .run();
  return id;
}

const status = (id: string) => env.APP_DB.prepare('SELECT status, reason FROM notifications WHERE public_id = ?1').bind(id).first<{ status: string; reason: string }>();

describe('cron: retention and repair jobs', () => {
  it('deletes audit logs past RETENTION_LOGS_DAYS, oldest first, keeping recent ones', async () => {
    const now = Date.now();
    const old = await Promise.all([auditRow(now - 91 * DAY), auditRow(now - 200 * DAY)]);
    const recent = await auditRow(now - 89 * DAY);
    const { auditLogs } = await runAt(DAILY, now);
    expect(auditLogs!.affected).toBeGreaterThanOrEqual(2);
    for (const id of old) expect(await count(env.LOGS_DB, 'SELECT count(*) AS n FROM audit_logs WHERE event_id = ?1', id)).toBe(0);
    expect(await count(env.LOGS_DB, 'SELECT count(*) AS n FROM audit_logs WHERE event_id = ?1', recent)).toBe(1);
  });

  it('deletes settled notifications past retention but never pending ones', async () => {
    const now = Date.now();
    const user = crypto.randomUUID();
    const gone = await Promise.all(['delivered', 'failed', 'suppressed'].map((s) => notificationRow(user, s, now - 31 * DAY)));
    const young = await notificationRow(user, 'delivered', now - 29 * DAY);
    const pending = await notificationRow(user, 'queued', now - 31 * DAY, { notBefore: now + DAY });
    await runAt(DAILY, now);
    for (const id of gone) expect(await status(id)).toBeNull();
    expect((await status(young))!.status).toBe('delivered');
    expect((await status(pending))!.status).toBe('queued');
  });

  it('fails notifications stuck in queued or sending, so every record ends settled', async () => {
    const now = Date.now();
    const user = crypto.randomUUID();
    const lost = await notificationRow(user, 'queued', now - DAY, { updatedAt: now - STALE_AFTER_MS - 1000 });
    const crashed = await notificationRow(user, 'sending', now - DAY, { updatedAt: now - STALE_AFTER_MS - 1000 });
    const deferred = await notificationRow(user, 'queued', now - DAY, { updatedAt: now - STALE_AFTER_MS - 1000, notBefore: now + 3_600_000 });
    const recent = await notificationRow(user, 'queued', now - 60_000);
    await runAt('*/5 * * * *', now);
    expect(await status(lost)).toEqual({ status: 'failed', reason: 'stale: no delivery outcome' });
    expect((await status(crashed))!.status).toBe('failed');
    expect((await status(deferred))!.status).toBe('queued');
    expect((await status(recent))!.status).toBe('queued');
  });

  it('removes orphan profiles (no user in AUTH_DB, older than an hour) with their data, resuming from a cursor', async () => {
    const now = Date.now();
    const real = await seedUser();
    const profile = (userId: string, createdAt: number) =>
      env.APP_DB.prepare('INSERT INTO profiles (public_id, created_at, updated_at, user_public_id) VALUES (?1, ?2, ?2, ?3)').bind(crypto.randomUUID(), createdAt, userId).run();
    await profile(real.publicId, now - 2 * DAY);
    const orphan = crypto.randomUUID();
    await profile(orphan, now - 2 * 3_600_000);
    await notificationRow(orphan, 'delivered', now - DAY);
    const fresh = crypto.randomUUID();
    await profile(fresh, now - 10 * 60_000);
    // Enough orphans to need two runs: 20 pages of 90 per run.
    await env.APP_DB.prepare(
      `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2000)
       INSERT INTO profiles (public_id, created_at, updated_at, user_public_id) SELECT 'p-' || n || '-' || ?1, ?2, ?2, 'orphan-' || n || '-' || ?1 FROM seq`,
    )
      .bind(crypto.randomUUID().slice(0, 8), now - 3 * 3_600_000)
      .run();

    const first = (await runAt(DAILY, now)).orphanProfiles!;
    expect(first.done).toBe(false);
    expect(Number(await env.CACHE.get(ORPHAN_CURSOR_KEY))).toBeGreaterThan(0);
    const second = (await runAt(DAILY, now)).orphanProfiles!;
    expect(second.done).toBe(true);
    expect(first.affected + second.affected).toBe(2001);
    expect(await env.CACHE.get(ORPHAN_CURSOR_KEY)).toBe('0');
    const profiles = (id: string) => count(env.APP_DB, 'SELECT count(*) AS n FROM profiles WHERE user_public_id = ?1', id);
    expect(await profiles(orphan)).toBe(0);
    expect(await count(env.APP_DB, 'SELECT count(*) AS n FROM notifications WHERE user_public_id = ?1', orphan)).toBe(0);
    expect(await profiles(fresh)).toBe(1);
    expect(await profiles(real.publicId)).toBe(1);
  });

  it('deletes expired one-time tokens and push tokens unseen for 270 days', async () => {
    const now = Date.now();
    const user = await seedUser();
    const token = (expiresAt: number) =>
      env.AUTH_DB.prepare(`INSERT INTO one_time_tokens (public_id, created_at, updated_at, user_id, purpose, token_hash, expires_at) VALUES (?1, 0, 0, ?2, 'reset_password', ?1, ?3)`)
        .bind(crypto.randomUUID(), user.id, expiresAt)
        .run();
    await token(now - 1000);
    await token(now + 3_600_000);
    const device = (lastSeenAt: number) =>
      env.APP_DB.prepare(`INSERT INTO devices (public_id, created_at, updated_at, user_public_id, platform, provider, token, last_seen_at) VALUES (?1, 0, 0, ?2, 'android', 'fcm', ?1, ?3)`)
        .bind(crypto.randomUUID(), user.publicId, lastSeenAt)
        .run();
    await device(now - DEVICE_STALE_MS - DAY);
    await device(now - DAY);
    await trigger('*/15 * * * *', now); // an unknown trigger (staging's) runs every job
    expect(await count(env.AUTH_DB, 'SELECT count(*) AS n FROM one_time_tokens WHERE user_id = ?1', user.id)).toBe(1);
    expect(await count(env.APP_DB, 'SELECT count(*) AS n FROM devices WHERE user_public_id = ?1', user.publicId)).toBe(1);
  });

  it('forgets inbound Twilio message SIDs after 7 days, keeping younger ones', async () => {
    const now = Date.now();
    const row = async (createdAt: number) => {
      const sid = `SM${crypto.randomUUID().replace(/-/g, '')}`;
      await env.APP_DB.prepare('INSERT INTO twilio_inbound (public_id, created_at, updated_at, message_sid) VALUES (?1, ?2, ?2, ?3)').bind(crypto.randomUUID(), createdAt, sid).run();
      return sid;
    };
    const old = await row(now - TWILIO_INBOUND_RETENTION_MS - 1000);
    const young = await row(now - TWILIO_INBOUND_RETENTION_MS + 60_000);
    const { twilioInbound } = await runAt(DAILY, now);
    expect(twilioInbound!.affected).toBeGreaterThanOrEqual(1);
    const left = (sid: string) => count(env.APP_DB, 'SELECT count(*) AS n FROM twilio_inbound WHERE message_sid = ?1', sid);
    expect(await left(old)).toBe(0);
    expect(await left(young)).toBe(1);
  });

  it('deletes webhook attempts and settled deliveries past RETENTION_WEBHOOK_DAYS, never pending ones', async () => {
    const now = Date.now();
    const old = now - 31 * 86_400_000;
    const ids = { settled: crypto.randomUUID(), pending: crypto.randomUUID(), young: crypto.randomUUID() };
    const insert = (id: string, status: string, at: number) =>
      env.APP_DB.prepare("INSERT INTO webhook_deliveries (public_id, created_at, updated_at, endpoint_public_id, event_id, event_type, payload, status) VALUES (?1, ?2, ?2, ?3, ?1, 'user.created', '{}', ?4)")
        .bind(id, at, crypto.randomUUID(), status)
        .run();
    await insert(ids.settled, 'delivered', old);
    await insert(ids.pending, 'pending', old);
    await insert(ids.young, 'failed', now);
    for (const [id, at] of [[ids.settled, old], [ids.young, now]] as const) {
      await env.APP_DB.prepare('INSERT INTO webhook_attempts (public_id, created_at, updated_at, delivery_public_id, ok, duration_ms) VALUES (?1, ?2, ?2, ?3, 1, 5)').bind(crypto.randomUUID(), at, id).run();
    }
    const { webhookDeliveries } = await runAt(DAILY, now);
    expect(webhookDeliveries!.affected).toBeGreaterThanOrEqual(1);
    const deliveries = (id: string) => count(env.APP_DB, 'SELECT count(*) AS n FROM webhook_deliveries WHERE public_id = ?1', id);
    const attempts = (id: string) => count(env.APP_DB, 'SELECT count(*) AS n FROM webhook_attempts WHERE delivery_public_id = ?1', id);
    expect([await deliveries(ids.settled), await deliveries(ids.pending), await deliveries(ids.young)]).toEqual([0, 1, 1]);
    expect([await attempts(ids.settled), await attempts(ids.young)]).toEqual([0, 1]);
  });

  it('maps each trigger to its jobs', () => {
    expect(jobsFor('*/5 * * * *')).toEqual(['sessions', 'oneTimeTokens', 'staleNotifications', 'idempotencyKeys']);
    expect(jobsFor(DAILY)).toEqual(['deletedUsers', 'orphanProfiles', 'auditLogs', 'notifications', 'staleDevices', 'twilioInbound', 'webhookDeliveries', 'oauth']);
    expect(jobsFor('*/15 * * * *')).toHaveLength(12);
  });
});
