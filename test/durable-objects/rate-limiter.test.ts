import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/durable-objects/rate-limiter';

const stubFor = (name = crypto.randomUUID()) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`test:${name}`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stored(stub: DurableObjectStub<RateLimiter>) {
  return runInDurableObject(stub, (_instance, state) => state.storage.kv.get<{ windowMs: number; hits: number[] }>('window'));
}

describe('RateLimiter Durable Object', () => {
  it('answers the health probe', async () => {
    expect(await stubFor().ping()).toBe('pong');
  });

  it('admits exactly the limit out of a parallel burst (no double spend)', async () => {
    const stub = stubFor();
    const rule = { limit: 10, windowMs: 60_000, durable: true };
    const decisions = await Promise.all(Array.from({ length: 60 }, () => stub.consume(rule)));
    const admitted = decisions.filter((d) => d.allowed);
    expect(admitted).toHaveLength(10);
    expect(admitted.map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const d of decisions.filter((x) => !x.allowed)) {
      expect(d.remaining).toBe(0);
      expect(d.resetMs).toBeGreaterThan(0);
      expect(d.resetMs).toBeLessThanOrEqual(60_000);
    }
  });

  it('admits exactly the limit out of a parallel burst in deferred mode too', async () => {
    const stub = stubFor();
    const decisions = await Promise.all(Array.from({ length: 40 }, () => stub.consume({ limit: 7, windowMs: 60_000, durable: false })));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(7);
  });

  it('durable mode commits every admitted hit and survives an eviction', async () => {
    const stub = stubFor();
    const rule = { limit: 3, windowMs: 60_000, durable: true };
    await stub.consume(rule);
    await stub.consume(rule);
    expect((await stored(stub))?.hits).toHaveLength(2);
    await evictDurableObject(stub);
    expect((await stub.consume(rule)).remaining).toBe(0);
    expect((await stub.consume(rule)).allowed).toBe(false);
  });

  it('deferred mode writes nothing on the request path and flushes on its alarm', async () => {
    const stub = stubFor();
    const rule = { limit: 5, windowMs: 60_000, durable: false };
    await stub.consume(rule);
    await stub.consume(rule);
    expect(await stored(stub)).toBeUndefined();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stored(stub))?.hits).toHaveLength(2);
    await evictDurableObject(stub);
    expect((await stub.consume(rule)).remaining).toBe(2);
  });

  it('slides: a slot comes back when the oldest hit leaves the window, not before', async () => {
    const stub = stubFor();
    const rule = { limit: 2, windowMs: 1_000, durable: true };
    expect((await stub.consume(rule)).allowed).toBe(true);
    expect((await stub.consume(rule)).allowed).toBe(true);
    const denied = await stub.consume(rule);
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect(denied.resetMs).toBeLessThanOrEqual(1_000);
    await sleep(1_100);
    expect((await stub.consume(rule)).allowed).toBe(true);
  });

  it('refund releases exactly the refunded slot, once', async () => {
    const stub = stubFor();
    const rule = { limit: 2, windowMs: 60_000, durable: true };
    const first = await stub.consume(rule);
    await stub.consume(rule);
    expect((await stub.consume(rule)).allowed).toBe(false);
    expect((await stub.refund(rule, first.stamp!)).remaining).toBe(1);
    // A second refund of the same stamp, or of one never taken, creates no capacity.
    expect((await stub.refund(rule, first.stamp!)).remaining).toBe(1);
    expect((await stub.refund(rule, 12345)).remaining).toBe(1);
    expect((await stub.consume(rule)).allowed).toBe(true);
    expect((await stub.consume(rule)).allowed).toBe(false);
    expect((await stored(stub))?.hits).toHaveLength(2);
  });

  it('deletes an idle key entirely once its window is empty', async () => {
    const stub = stubFor();
    await stub.consume({ limit: 2, windowMs: 1_000, durable: true });
    expect((await stored(stub))?.hits).toHaveLength(1);
    // No test trigger: the object's own alarm fires when the last hit expires.
    const snapshot = () => runInDurableObject(stub, async (_i, state) => ({ keys: [...state.storage.kv.list()].length, alarm: await state.storage.getAlarm() }));
    const deadline = Date.now() + 5_000;
    let left = await snapshot();
    while (left.keys > 0 && Date.now() < deadline) {
      await sleep(100);
      left = await snapshot();
    }
    expect(left).toEqual({ keys: 0, alarm: null });
  });

  it('keeps its alarm while hits remain, then cleans up', async () => {
    const stub = stubFor();
    await stub.consume({ limit: 2, windowMs: 60_000, durable: true });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stored(stub))?.hits).toHaveLength(1);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });

  it('refuses malformed calls instead of counting them', async () => {
    // Called on the instance: a rejecting RPC through a stub leaks an unhandled rejection in the
    // test pool (cloudflare/workers-sdk#14736), although it propagates fine in production.
    const stub = stubFor();
    await runInDurableObject(stub, (instance: RateLimiter) => {
      expect(() => instance.consume({ limit: 0, windowMs: 60_000, durable: true })).toThrow();
      expect(() => instance.consume({ limit: 5, windowMs: Number.NaN, durable: true })).toThrow();
      expect(() => instance.consume({ limit: 1e9, windowMs: 60_000, durable: true })).toThrow();
      expect(() => instance.consume({ limit: '5', windowMs: 60_000, durable: true } as never)).toThrow();
      expect(() => instance.refund({ limit: 5, windowMs: 60_000, durable: true }, Number.POSITIVE_INFINITY)).toThrow();
    });
    expect(await stored(stub)).toBeUndefined();
  });
});
