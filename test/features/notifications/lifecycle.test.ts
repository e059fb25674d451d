import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_STATUSES, notifications } from '../../../src/db/schema/app';
import {
  canTransition,
  claim,
  deadLetter,
  expireStale,
  LEASE_MS,
  markEnqueueFailed,
  purgeSettled,
  release,
  settle,
  SETTLED,
  STALE_AFTER_MS,
  STALE_SWEEP_CHUNK,
  RETENTION_CHUNK,
  TRANSITIONS,
} from '../../../src/features/notifications/notification-lifecycle';
import { db, emailInput, prepared, record } from './notification-helpers';

const DAY = 86_400_000;

/** A fresh `queued` record, created the way notify() creates it. */
async function queued(): Promise<string> {
  const [m] = await prepared(emailInput(crypto.randomUUID()));
  return m!.id;
}

/** Test setup only: puts a record in a given state and age without going through the lifecycle. */
async function force(id: string, values: Partial<typeof notifications.$inferInsert>): Promise<void> {
  await db().app.update(notifications).set(values).where(eq(notifications.publicId, id));
}

async function drain(step: () => Promise<number>, chunk: number): Promise<void> {
  while ((await step()) >= chunk);
}

describe('notification lifecycle: the transition table', () => {
  it('has no way out of a settled state, and no way to settle without sending', () => {
    for (const [from] of Object.values(TRANSITIONS)) for (const s of SETTLED) expect(from).not.toContain(s);
    for (const s of SETTLED) for (const to of NOTIFICATION_STATUSES) expect(canTransition(s, to)).toBe(false);
    expect(canTransition('queued', 'delivered')).toBe(false);
    expect(canTransition('queued', 'suppressed')).toBe(false);
    expect(canTransition('queued', 'sending')).toBe(true);
    expect(canTransition('sending', 'queued')).toBe(true);
    for (const s of SETTLED) expect(canTransition('sending', s)).toBe(true);
  });
});

describe('notification lifecycle: writes', () => {
  it('refuses to settle a record nobody claimed', async () => {
    const id = await queued();
    expect(await settle(db(), id, { kind: 'delivered', provider: 'x' }, new Date())).toBe(false);
    expect(await record(id)).toMatchObject({ status: 'queued', deliveredAt: null, provider: null, attempts: 0 });
  });

  it('never changes a settled record: a late outcome, an enqueue failure, a release or a dead letter are refused', async () => {
    const id = await queued();
    const now = new Date();
    expect(await claim(db(), id, now)).toEqual({ kind: 'claimed' });
    expect(await settle(db(), id, { kind: 'delivered', provider: 'p', providerMessageId: 'pm-1' }, now)).toBe(true);
    const settled = await record(id);
    expect(settled).toMatchObject({ status: 'delivered', provider: 'p', providerMessageId: 'pm-1', leaseUntil: null, attempts: 1 });

    expect(await settle(db(), id, { kind: 'failed', reason: 'late' }, now)).toBe(false);
    expect(await settle(db(), id, { kind: 'retry', reason: 'late' }, now)).toBe(false);
    await markEnqueueFailed(db(), [id], now);
    await release(db(), id);
    expect(await deadLetter(db(), id, now)).toBeNull();
    expect(await record(id)).toMatchObject({ status: 'delivered', reason: null, failedAt: null, attempts: 1 });
  });

  it('never sends a settled record again: a later claim reports it done', async () => {
    const id = await queued();
    const now = new Date();
    await claim(db(), id, now);
    await settle(db(), id, { kind: 'suppressed', reason: 'preference_disabled' }, now);
    // Even long after any lease would have expired.
    expect(await claim(db(), id, new Date(now.getTime() + 10 * LEASE_MS))).toEqual({ kind: 'done', status: 'suppressed' });
    expect((await record(id)).attempts).toBe(1);
  });

  it('lets exactly one of two concurrent claims win; the other waits out the live lease', async () => {
    const id = await queued();
    const now = new Date();
    const results = await Promise.all([claim(db(), id, now), claim(db(), id, now)]);
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(results.find((r) => r.kind !== 'claimed')).toEqual({ kind: 'busy', waitSeconds: LEASE_MS / 1000 });
    expect(await record(id)).toMatchObject({ status: 'sending', attempts: 1, leaseUntil: new Date(now.getTime() + LEASE_MS) });
  });

  it('reclaims a record whose lease expired (a consumer crashed mid-send), counting the attempt', async () => {
    const id = await queued();
    const t0 = Date.now();
    await claim(db(), id, new Date(t0));
    expect(await claim(db(), id, new Date(t0 + LEASE_MS - 1500))).toEqual({ kind: 'busy', waitSeconds: 2 });
    const later = new Date(t0 + LEASE_MS + 1);
    expect(await claim(db(), id, later)).toEqual({ kind: 'claimed' });
    expect(await record(id)).toMatchObject({ status: 'sending', attempts: 2, leaseUntil: new Date(later.getTime() + LEASE_MS) });
  });

  it('hands a deferred or retried record back to the queue, lease released, for the next claim', async () => {
    const id = await queued();
    const now = new Date();
    await claim(db(), id, now);
    expect(await settle(db(), id, { kind: 'defer', reason: 'personal_quiet_hours', delaySeconds: 90 }, now)).toBe(true);
    expect(await record(id)).toMatchObject({ status: 'queued', reason: 'deferred: personal_quiet_hours', notBefore: new Date(now.getTime() + 90_000), leaseUntil: null });

    expect(await claim(db(), id, now)).toEqual({ kind: 'claimed' });
    expect(await settle(db(), id, { kind: 'retry', reason: 'smtp transient: 451', provider: 'smtp' }, now)).toBe(true);
    expect(await record(id)).toMatchObject({ status: 'queued', reason: 'smtp transient: 451', provider: 'smtp', leaseUntil: null, attempts: 2 });

    expect(await claim(db(), id, now)).toEqual({ kind: 'claimed' });
    await release(db(), id);
    expect(await record(id)).toMatchObject({ status: 'queued', reason: 'internal error', leaseUntil: null, attempts: 3 });
  });

  it('fails a queued record whose enqueue failed, but leaves one a consumer already took', async () => {
    const [a, b] = [await queued(), await queued()];
    const now = new Date();
    await claim(db(), b, now);
    await markEnqueueFailed(db(), [a, b], now);
    expect(await record(a)).toMatchObject({ status: 'failed', reason: 'enqueue_failed', failedAt: now });
    expect((await record(b)).status).toBe('sending');
  });

  it('dead-letters a pending record with its last reason, once', async () => {
    const id = await queued();
    const now = new Date();
    await claim(db(), id, now);
    await settle(db(), id, { kind: 'retry', reason: 'fcm UNAVAILABLE (HTTP 503)' }, now);
    expect(await deadLetter(db(), id, now)).toEqual({ reason: 'dead_letter: fcm UNAVAILABLE (HTTP 503)', attempts: 1 });
    expect(await deadLetter(db(), id, now)).toBeNull();
    expect(await record(id)).toMatchObject({ status: 'failed', reason: 'dead_letter: fcm UNAVAILABLE (HTTP 503)', failedAt: now, leaseUntil: null });
  });

  it('reports a message whose record is gone as missing', async () => {
    expect(await claim(db(), crypto.randomUUID(), new Date())).toEqual({ kind: 'missing' });
  });
});

describe('notification lifecycle: sweeps', () => {
  it('fails records stuck in queued or sending, sparing deferred, recent and settled ones', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - STALE_AFTER_MS - 1000);
    const [lost, crashed, deferred, recent, done] = await Promise.all([queued(), queued(), queued(), queued(), queued()]);
    await force(lost!, { updatedAt: old });
    await force(crashed!, { status: 'sending', leaseUntil: old, updatedAt: old });
    await force(deferred!, { updatedAt: old, notBefore: new Date(now.getTime() + 3_600_000) });
    await force(done!, { status: 'delivered', updatedAt: old });

    await drain(() => expireStale(db(), now), STALE_SWEEP_CHUNK);
    for (const id of [lost!, crashed!]) {
      expect(await record(id)).toMatchObject({ status: 'failed', reason: 'stale: no delivery outcome', failedAt: now, updatedAt: now, leaseUntil: null });
    }
    expect((await record(deferred!)).status).toBe('queued');
    expect((await record(recent!)).status).toBe('queued');
    expect(await record(done!)).toMatchObject({ status: 'delivered', reason: null });
    expect(await expireStale(db(), now)).toBe(0);
  });

  it('purges settled records past retention, never pending or young ones', async () => {
    const now = Date.now();
    const [gone, pending, young] = await Promise.all([queued(), queued(), queued()]);
    await force(gone!, { status: 'failed', createdAt: new Date(now - 31 * DAY) });
    await force(pending!, { createdAt: new Date(now - 31 * DAY) });
    await force(young!, { status: 'delivered', createdAt: new Date(now - 29 * DAY) });

    await drain(() => purgeSettled(db(), new Date(now - 30 * DAY)), RETENTION_CHUNK);
    const exists = async (id: string) => (await db().app.select({ id: notifications.id }).from(notifications).where(eq(notifications.publicId, id)).get()) !== undefined;
    expect(await exists(gone!)).toBe(false);
    expect(await exists(pending!)).toBe(true);
    expect(await exists(young!)).toBe(true);
  });
});
