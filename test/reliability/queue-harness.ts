// Plays the Cloudflare Queues delivery contract against the real consumers, on virtual time,
// so a run that needs hours of backoff (15 s × 2^n, 8 retries) takes seconds:
// - a batch holds up to `batchSize` messages; `attempts` starts at 1;
// - msg.ack() settles a message, msg.retry() redelivers it (attempts + 1) after its delay;
//   a handler that returns without settling a message acks it (Queues' implicit ack);
// - a handler that throws retries every message it did not settle;
// - a crashed invocation (the isolate dies mid-batch) loses every ack and retry it made: all
//   its messages come back (attempts + 1), while its in-flight work may still land;
// - after `maxRetries` retries a message goes to the dead-letter consumer instead.
// The consumers, D1 and the provider are real; only the clock and the broker are played here.
export interface Pending<T> {
  id: string;
  body: T;
  attempts: number;
  /** Virtual ms at which it may be delivered. */
  at: number;
}

export interface HarnessStats {
  batches: number;
  crashes: number;
  deliveries: number;
  retries: number;
  deadLettered: number;
  virtualMs: number;
}

export interface HarnessOptions<T> {
  queue: string;
  dlq: string;
  batchSize: number;
  maxRetries: number;
  /** Batches run at once (Queues scales consumers out). */
  concurrency: number;
  consume: (batch: MessageBatch<unknown>, now: () => Date) => Promise<void>;
  consumeDeadLetters: (batch: MessageBatch<unknown>) => Promise<void>;
  /** Fraction of invocations that crash at a random point (before any, between or after settling). */
  crashRate?: number;
  random?: () => number;
  /**
   * The broker's tick: each round delivers everything due within it (delays are minimums, so
   * a late delivery is within the contract). 60 s keeps an 8-retry horizon near 70 rounds;
   * the lease (120 s) and the backoff (15 s × 2^n) are honoured either way.
   */
  tickMs?: number;
  messages: { id: string; body: T }[];
}

function batchOf<T>(queue: string, items: Pending<T>[], onSettle: (p: Pending<T>, how: 'ack' | 'retry', delaySeconds: number) => void): MessageBatch<unknown> {
  const messages = items.map((p) => {
    let settled = false;
    const settle = (how: 'ack' | 'retry', delaySeconds = 0) => {
      if (settled) return;
      settled = true;
      onSettle(p, how, delaySeconds);
    };
    return {
      id: p.id,
      timestamp: new Date(),
      body: p.body,
      attempts: p.attempts,
      ack: () => settle('ack'),
      retry: (o?: QueueRetryOptions) => settle('retry', o?.delaySeconds ?? 0),
      settled: () => settled,
      settleImplicit: () => settle('ack'),
      retryUnsettled: () => settle('retry', 0),
    };
  });
  return {
    queue,
    messages,
    ackAll: () => messages.forEach((m) => m.ack()),
    retryAll: (o?: QueueRetryOptions) => messages.forEach((m) => m.retry(o)),
  } as unknown as MessageBatch<unknown>;
}

type HarnessMessage = Message<unknown> & { settleImplicit(): void; retryUnsettled(): void };

/** Runs until every message was acked or dead-lettered. Returns the counters. */
export async function drain<T>(o: HarnessOptions<T>): Promise<HarnessStats> {
  const random = o.random ?? Math.random;
  const stats: HarnessStats = { batches: 0, crashes: 0, deliveries: 0, retries: 0, deadLettered: 0, virtualMs: 0 };
  let clock = Date.now();
  const inflight: Promise<void>[] = [];
  const now = () => new Date(clock);
  let pending: Pending<T>[] = o.messages.map((m) => ({ ...m, attempts: 1, at: clock }));
  const dead: Pending<T>[] = [];
  const requeue = (p: Pending<T>, delaySeconds: number) => {
    stats.retries += 1;
    const next = { ...p, attempts: p.attempts + 1, at: clock + delaySeconds * 1000 };
    if (next.attempts > o.maxRetries + 1) dead.push(next);
    else pending.push(next);
  };
  const begin = clock;
  while (pending.length > 0 || dead.length > 0) {
    if (dead.length > 0) {
      const items = dead.splice(0, dead.length);
      stats.deadLettered += items.length;
      for (let i = 0; i < items.length; i += o.batchSize) {
        const part = items.slice(i, i + o.batchSize);
        const retry: Pending<T>[] = [];
        const batch = batchOf(o.dlq, part, (p, how) => how === 'retry' && retry.push(p));
        await o.consumeDeadLetters(batch);
        if (retry.length > 0) throw new Error(`dead-letter consumer retried ${retry.length} messages`);
      }
      continue;
    }
    // Advance the clock to the earliest due message; deliver everything due, in batches.
    const due = pending.reduce((min, p) => Math.min(min, p.at), Infinity);
    clock = Math.max(clock, due);
    const ready = pending.filter((p) => p.at <= clock);
    pending = pending.filter((p) => p.at > clock);
    const batches: Pending<T>[][] = [];
    for (let i = 0; i < ready.length; i += o.batchSize) batches.push(ready.slice(i, i + o.batchSize));
    for (let i = 0; i < batches.length; i += o.concurrency) {
      await Promise.all(batches.slice(i, i + o.concurrency).map((items) => invoke(items)));
    }
    clock += o.tickMs ?? 60_000;
  }
  // What crashed invocations left running has landed before anyone checks the outcome.
  await Promise.all(inflight);
  stats.virtualMs = clock - begin;
  return stats;

  async function invoke(items: Pending<T>[]): Promise<void> {
    stats.batches += 1;
    stats.deliveries += items.length;
    const crash = random() < (o.crashRate ?? 0);
    const outcomes = new Map<Pending<T>, { how: 'ack' | 'retry'; delaySeconds: number }>();
    const batch = batchOf(o.queue, items, (p, how, delaySeconds) => outcomes.set(p, { how, delaySeconds }));
    let threw = false;
    if (crash) {
      // The isolate dies while the batch is in flight: a random share of its work finishes
      // (provider calls, D1 writes), none of its acks or retries reach the broker.
      stats.crashes += 1;
      const work = o.consume(batch, now).catch(() => {});
      await Promise.race([work, new Promise((r) => setTimeout(r, random() * 40))]);
      // Its in-flight work keeps running (worse than a real crash, which would stop it).
      inflight.push(work);
      for (const p of items) requeue(p, 0);
      return;
    }
    try {
      await o.consume(batch, now);
    } catch {
      threw = true;
    }
    for (const m of batch.messages as HarnessMessage[]) {
      if (threw) m.retryUnsettled();
      else m.settleImplicit();
    }
    for (const p of items) {
      const r = outcomes.get(p);
      if (!r || r.how === 'ack') continue;
      requeue(p, r.delaySeconds);
    }
  }
}
