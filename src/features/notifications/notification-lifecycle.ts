import { and, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import type { Databases } from '../../db/client';
import { notifications, type NotificationStatus } from '../../db/schema/app';
import type { Outcome } from './notifications.delivery';

/**
 * The one place a notification's `status` is written: queued → sending → delivered | failed |
 * suppressed, with sending → queued for a deferral, a retry or a released lease, and the
 * repairs (dead letter, stale sweep) that settle what the queue gave up on. Each write is a
 * conditional UPDATE whose WHERE names the states it may leave, so a transition that is not
 * in TRANSITIONS cannot happen, whatever the caller or a concurrent writer did meanwhile.
 */
const SENDING = ['sending'] as const;
const PENDING = ['queued', 'sending'] as const;

/** Transition name → [the states it may leave, the state it enters]. */
export const TRANSITIONS = {
  /** A consumer takes the record; from `sending` only once the previous lease expired. */
  claim: [PENDING, 'sending'],
  // settle(): one per delivery outcome, named after it.
  delivered: [SENDING, 'delivered'],
  failed: [SENDING, 'failed'],
  suppressed: [SENDING, 'suppressed'],
  /** Quiet hours: a new delayed message carries it; the retry budget is untouched. */
  defer: [SENDING, 'queued'],
  /** A transient provider error: the queue redelivers the same message after a backoff. */
  retry: [SENDING, 'queued'],
  /** Our own error before any provider accepted it: the lease is given back. */
  release: [SENDING, 'queued'],
  enqueueFailed: [['queued'], 'failed'],
  deadLetter: [PENDING, 'failed'],
  expireStale: [PENDING, 'failed'],
} as const satisfies Record<string, readonly [from: readonly NotificationStatus[], to: NotificationStatus]>;
export type Transition = keyof typeof TRANSITIONS;

/** Terminal states: nothing leaves them; only retention deletes them. */
export const SETTLED = ['delivered', 'failed', 'suppressed'] as const satisfies readonly NotificationStatus[];

/** Whether some transition leads from `from` to `to` (records are created `queued`). */
export function canTransition(from: NotificationStatus, to: NotificationStatus): boolean {
  return Object.values(TRANSITIONS).some(([f, t]) => t === to && (f as readonly NotificationStatus[]).includes(from));
}

/** A consumer holds a record this long while it calls the provider (crash recovery). */
export const LEASE_MS = 120_000;
const HOUR_MS = 3_600_000;
/** Longer than the whole retry horizon (8 retries ≈ 1 h) and a deferral's 12 h delay. */
export const STALE_AFTER_MS = 6 * HOUR_MS;
/** Rows per statement of the sweeps: each binds a handful of parameters however many rows it touches. */
export const STALE_SWEEP_CHUNK = 500;
export const RETENTION_CHUNK = 1000;

type Row = typeof notifications.$inferInsert;
/** What the producer provides; the lifecycle columns start as the schema's defaults. */
export type NewNotification = Omit<Row, 'id' | 'status' | 'attempts' | 'leaseUntil' | 'notBefore' | 'provider' | 'providerMessageId' | 'reason' | 'deliveredAt' | 'failedAt'>;

function transition(db: Databases, name: Transition, where: SQL | undefined, set: Omit<SQLiteUpdateSetSource<typeof notifications>, 'status'>) {
  const [from, to] = TRANSITIONS[name];
  return db.app
    .update(notifications)
    .set({ ...set, status: to })
    .where(and(where, inArray(notifications.status, [...from])));
}

/**
 * The insert of a new `queued` record, unexecuted so the producer can put several in one
 * D1 batch. A key already used inserts nothing and returns no row.
 */
export function insertQueued(db: Databases, values: NewNotification) {
  return db.app
    .insert(notifications)
    .values({ ...values, status: 'queued' })
    .onConflictDoNothing({ target: notifications.idempotencyKey })
    .returning({ id: notifications.publicId });
}

/** The queue refused the records' messages: they will never be delivered. */
export async function markEnqueueFailed(db: Databases, ids: string[], failedAt: Date): Promise<void> {
  await transition(db, 'enqueueFailed', inArray(notifications.publicId, ids), { reason: 'enqueue_failed', failedAt });
}

export type Claim = { kind: 'claimed' } | { kind: 'missing' } | { kind: 'done'; status: NotificationStatus } | { kind: 'busy'; waitSeconds: number };

/**
 * Moves the record from `queued` (or an expired `sending` lease) to `sending` in one
 * conditional UPDATE: of two deliveries of the same message, exactly one wins. A record
 * already delivered, failed or suppressed is never sent again.
 */
export async function claim(db: Databases, id: string, now: Date): Promise<Claim> {
  const won = await transition(db, 'claim', and(eq(notifications.publicId, id), or(eq(notifications.status, 'queued'), lt(notifications.leaseUntil, now))), {
    leaseUntil: new Date(now.getTime() + LEASE_MS),
    attempts: sql`${notifications.attempts} + 1`,
  }).returning({ id: notifications.id });
  if (won.length > 0) return { kind: 'claimed' };
  const row = await db.app.select({ status: notifications.status, leaseUntil: notifications.leaseUntil }).from(notifications).where(eq(notifications.publicId, id)).get();
  if (!row) return { kind: 'missing' };
  if (row.status === 'sending') return { kind: 'busy', waitSeconds: Math.max(1, Math.ceil(((row.leaseUntil?.getTime() ?? 0) - now.getTime()) / 1000)) };
  return { kind: 'done', status: row.status };
}

/**
 * Records the outcome of a claimed delivery and releases the lease. A `defer` carries the
 * delay its new message was sent with. False when the record was no longer `sending`
 * (settled by another writer meanwhile): nothing is overwritten.
 */
export async function settle(db: Databases, id: string, outcome: Outcome, now: Date): Promise<boolean> {
  let set;
  switch (outcome.kind) {
    case 'delivered':
      set = { deliveredAt: now, provider: outcome.provider, providerMessageId: outcome.providerMessageId ?? null, reason: null };
      break;
    case 'failed':
      set = { failedAt: now, reason: outcome.reason, provider: outcome.provider ?? null };
      break;
    case 'suppressed':
      set = { reason: outcome.reason };
      break;
    case 'defer':
      set = { notBefore: new Date(now.getTime() + outcome.delaySeconds * 1000), reason: `deferred: ${outcome.reason}` };
      break;
    case 'retry':
      set = { reason: outcome.reason, provider: outcome.provider ?? null };
      break;
  }
  const res = await transition(db, outcome.kind, eq(notifications.publicId, id), { ...set, leaseUntil: null }).run();
  return (res.meta.changes ?? 0) > 0;
}

/** Gives a claimed record back after our own error, for the message's next delivery. */
export async function release(db: Databases, id: string): Promise<void> {
  await transition(db, 'release', eq(notifications.publicId, id), { reason: 'internal error', leaseUntil: null });
}

/**
 * The message exhausted its retries: the record fails with its last transient reason.
 * Null when it was settled meanwhile (a repeated dead letter changes nothing).
 */
export async function deadLetter(db: Databases, id: string, now: Date): Promise<{ reason: string | null; attempts: number } | null> {
  const rows = await transition(db, 'deadLetter', eq(notifications.publicId, id), {
    failedAt: now,
    leaseUntil: null,
    reason: sql`'dead_letter: ' || coalesce(${notifications.reason}, 'retries exhausted')`,
  }).returning({ reason: notifications.reason, attempts: notifications.attempts });
  return rows[0] ?? null;
}

/**
 * One chunk (STALE_SWEEP_CHUNK rows) of the guarantee that every notification ends settled:
 * a record still queued or sending long after its last possible retry or deferral (its
 * message was lost, or the enqueue failed half-way) fails with reason `stale`. Returns the
 * rows changed.
 */
export async function expireStale(db: Databases, now: Date): Promise<number> {
  const t = now.getTime();
  const stale = db.app
    .select({ id: notifications.id })
    .from(notifications)
    .where(
      and(
        inArray(notifications.status, [...PENDING]),
        lt(notifications.updatedAt, new Date(t - STALE_AFTER_MS)),
        or(isNull(notifications.notBefore), lt(notifications.notBefore, new Date(t - HOUR_MS))),
      ),
    )
    .limit(STALE_SWEEP_CHUNK);
  const res = await transition(db, 'expireStale', inArray(notifications.id, stale), { reason: 'stale: no delivery outcome', failedAt: now, updatedAt: now, leaseUntil: null }).run();
  return res.meta.changes ?? 0;
}

/** One chunk (RETENTION_CHUNK rows) of retention: deletes settled records created before `before`. */
export async function purgeSettled(db: Databases, before: Date): Promise<number> {
  const old = db.app
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(inArray(notifications.status, [...SETTLED]), lt(notifications.createdAt, before)))
    .limit(RETENTION_CHUNK);
  const res = await db.app.delete(notifications).where(inArray(notifications.id, old)).run();
  return res.meta.changes ?? 0;
}
