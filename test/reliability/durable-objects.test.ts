// Issue 20, items 2 (a Durable Object reset mid-run: limiter and hub) and 4 (many WebSocket
// clients get a broadcast). Real Durable Objects in workerd; resets are the runtime's own
// (ctx.abort() through runInDurableObject, which is what a code update or an overload does to
// an object: in-memory state gone, storage kept).
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { NotificationHub } from '../../src/durable-objects/notification-hub';
import type { RateLimiter } from '../../src/durable-objects/rate-limiter';
import type { NotificationMessage } from '../../src/queues/notification-message';
import { call, freshIp, json, registerUser } from '../helpers/api';
import { wrongLogin } from '../security/rate-limit-helpers';
import { consume, prepared, record } from '../features/notifications/notification-helpers';

const FULL = env.RELIABILITY_FULL === '1';
const SOCKETS = FULL ? 1000 : 200;

const hub = (userId: string) => env.NOTIFICATION_HUB.get(env.NOTIFICATION_HUB.idFromName(userId));

/** Resets the object the way the runtime does: ctx.abort() drops it; the next call starts a fresh instance on the same storage. */
async function reset(stub: DurableObjectStub<NotificationHub> | DurableObjectStub<RateLimiter>): Promise<void> {
  await runInDurableObject(stub as DurableObjectStub<NotificationHub>, (_instance, state) => {
    state.abort('reliability: reset');
  }).catch(() => {});
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Opens a socket for `userId` with a ticket the hub issued, through the public stream route. */
async function openSocket(userId: string, sessionId: string) {
  const { ticket } = await hub(userId).issueTicket(userId, sessionId);
  const res = await call(`/api/v1/notifications/stream?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: 'websocket' }, ip: freshIp() });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const messages: string[] = [];
  const closes: number[] = [];
  ws.addEventListener('message', (e) => void messages.push(String(e.data)));
  ws.addEventListener('close', (e) => void closes.push(e.code));
  ws.accept();
  return { ws, messages, closes };
}

describe('Durable Objects under reset and scale', () => {
  it('keeps the auth tier exact across a limiter reset mid-run: 5 per window, never more', async () => {
    const user = await registerUser();
    const ip = freshIp();
    const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`auth:ip:${ip}`));
    const first = await Promise.all(Array.from({ length: 3 }, () => call('/api/v1/auth/login', { body: wrongLogin(user.email), ip })));
    expect(first.map((r) => r.status)).toEqual([401, 401, 401]);
    // Reset while a burst is in flight: each request is counted by the old instance or the new one.
    const burst = Promise.all(Array.from({ length: 12 }, () => call('/api/v1/auth/login', { body: wrongLogin(user.email), ip })));
    await reset(limiter);
    const statuses = (await burst).map((r) => r.status);
    // Exact: the 3 spent slots survived the reset; at most 2 more attempts reached the password check.
    // A request caught by the reset itself fails closed (503), never open.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(2);
    expect(statuses.filter((s) => s !== 401 && s !== 429 && s !== 503)).toEqual([]);
    await reset(limiter);
    const after = await Promise.all(Array.from({ length: 6 }, () => call('/api/v1/auth/login', { body: wrongLogin(user.email), ip })));
    const passed = statuses.filter((s) => s === 401).length + after.filter((r) => r.status === 401).length;
    expect(passed).toBeLessThanOrEqual(2);
    expect(after.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(4);
  });

  it('loses no in-app notification across a hub reset: live before, inbox for the gap, live again after reconnecting', async () => {
    const user = await registerUser();
    const sid = 'reliability-session';
    const early = await hub(user.user.id).issueTicket(user.user.id, sid);
    const before = await openSocket(user.user.id, sid);
    const send = async (title: string) => {
      const [m] = await prepared({ userId: user.user.id, channels: ['in_app'], category: 'transactional', kind: 'reliability.hub', content: { title, body: title } });
      await consume([m!]);
      return (await record(m!.id)).providerMessageId;
    };
    expect(await send('before')).toBe('sockets:1');
    await eventually(() => before.messages.length === 1);
    await reset(hub(user.user.id));
    // The reset cut the socket; what is sent meanwhile is delivered to the inbox (0 sockets).
    await eventually(() => before.closes.length === 1);
    expect(await send('during')).toBe('sockets:0');
    // A ticket issued before the reset is durable and still single-use.
    const res = await call(`/api/v1/notifications/stream?ticket=${encodeURIComponent(early.ticket)}`, { headers: { Upgrade: 'websocket' } });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    const replay = await call(`/api/v1/notifications/stream?ticket=${encodeURIComponent(early.ticket)}`, { headers: { Upgrade: 'websocket' } });
    expect(replay.status).toBe(401);
    const again = await openSocket(user.user.id, sid);
    expect(await send('after')).toBe('sockets:2');
    await eventually(() => again.messages.length === 1);
    const inbox = await json<{ data: { title: string }[] }>(await call('/api/v1/notifications?limit=10', { token: user.accessToken }));
    expect(inbox.data.map((n) => n.title).filter((t) => ['before', 'during', 'after'].includes(t)).sort()).toEqual(['after', 'before', 'during']);
    res.webSocket!.close(1000);
    again.ws.close(1000);
  });

  it(`delivers one broadcast to ${SOCKETS} open WebSocket clients, each exactly once`, { timeout: FULL ? 600_000 : 180_000 }, async () => {
    // Recipients are inserted directly (registration's argon2id would dominate the run).
    const now = Date.now();
    const ids = Array.from({ length: SOCKETS }, () => crypto.randomUUID());
    for (let i = 0; i < ids.length; i += 50) {
      await env.AUTH_DB.batch(
        ids.slice(i, i + 50).map((id) => env.AUTH_DB.prepare('INSERT INTO users (public_id, created_at, updated_at, email, password_hash) VALUES (?, ?, ?, ?, ?)').bind(id, now, now, `ws-${id}@example.com`, 'unused')),
      );
    }
    const sockets: Awaited<ReturnType<typeof openSocket>>[] = [];
    for (let i = 0; i < ids.length; i += 25) sockets.push(...(await Promise.all(ids.slice(i, i + 25).map((id) => openSocket(id, `s-${id}`)))));
    const tag = crypto.randomUUID().slice(0, 8);
    const messages: NotificationMessage[] = [];
    for (let i = 0; i < ids.length; i += 25) {
      messages.push(...(await Promise.all(ids.slice(i, i + 25).map(async (id) => (await prepared({ userId: id, channels: ['in_app'], category: 'transactional', kind: 'reliability.broadcast', content: { title: `broadcast ${tag}`, body: 'to everyone' } }))[0]!))));
    }
    const started = performance.now();
    // The consumer's batches (max_batch_size 10), several at once as Queues would run them.
    for (let i = 0; i < messages.length; i += 100) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => messages.slice(i + j * 10, i + j * 10 + 10)).filter((b) => b.length > 0).map((b) => consume(b)));
    }
    await eventually(() => sockets.every((s) => s.messages.length >= 1), 60_000);
    const ms = performance.now() - started;
    console.log(JSON.stringify({ broadcast: { sockets: SOCKETS, ms: Math.round(ms) } }));
    expect(sockets.filter((s) => s.messages.length !== 1)).toEqual([]);
    sockets.forEach((s, i) => expect(JSON.parse(s.messages[0]!)).toMatchObject({ id: messages[i]!.id, title: `broadcast ${tag}` }));
    const delivered = await env.APP_DB.prepare("SELECT count(*) AS n FROM notifications WHERE title = ? AND status = 'delivered' AND provider_message_id = 'sockets:1'").bind(`broadcast ${tag}`).first<number>('n');
    expect(delivered).toBe(SOCKETS);
    sockets.forEach((s) => s.ws.close(1000));
  });
});
