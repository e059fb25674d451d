import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLOSE_REAUTH, CLOSE_SESSION_ENDED, CLOSE_TOO_MANY, MAX_SOCKETS_PER_USER, type NotificationHub, type SocketAttachment } from '../../src/durable-objects/notification-hub';
import { call, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { consume, emailInput, prepared, record } from '../features/notifications/notification-helpers';

async function ticket(user: TokenPair): Promise<{ ticket: string; url: string }> {
  const res = await call('/api/v1/notifications/stream/ticket', { method: 'POST', token: user.accessToken });
  expect(res.status).toBe(200);
  return json(res);
}

function connect(t: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(`/api/v1/notifications/stream?ticket=${encodeURIComponent(t)}`, { headers: { Upgrade: 'websocket', ...headers } });
}

/** Opens the socket and queues what it receives. */
async function open(user: TokenPair) {
  const res = await connect((await ticket(user)).ticket);
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const messages: string[] = [];
  const closes: number[] = [];
  ws.addEventListener('message', (e) => {
    messages.push(String(e.data));
  });
  ws.addEventListener('close', (e) => {
    closes.push(e.code);
  });
  ws.accept();
  return { ws, messages, closes };
}

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hub = (userId: string) => env.NOTIFICATION_HUB.get(env.NOTIFICATION_HUB.idFromName(userId));

describe('NotificationHub (live in-app notifications over WebSocket)', () => {
  it('pushes an in-app notification to the user’s open socket when the consumer delivers it', async () => {
    const user = await registerUser();
    const { messages } = await open(user);
    const [m] = await prepared(emailInput(user.user.id, { channels: ['in_app'], kind: 'chat.mention', content: { title: 'You were mentioned', body: 'in #general', data: { channelId: 'c1' } } }));
    await consume([m!]);
    await eventually(() => messages.length === 1);
    expect(JSON.parse(messages[0]!)).toEqual({ type: 'notification', id: m!.id, kind: 'chat.mention', category: 'transactional', title: 'You were mentioned', body: 'in #general', data: { channelId: 'c1' } });
    expect(await record(m!.id)).toMatchObject({ status: 'delivered', provider: 'in-app', providerMessageId: 'sockets:1' });
  });

  it('never reaches another user’s socket', async () => {
    const [alice, bob] = [await registerUser(), await registerUser()];
    const socket = await open(alice);
    const [m] = await prepared(emailInput(bob.user.id, { channels: ['in_app'] }));
    await consume([m!]);
    await new Promise((r) => setTimeout(r, 100));
    expect(socket.messages).toEqual([]);
  });

  it('accepts a ticket once, and refuses unknown, forged and expired tickets', async () => {
    const [alice, bob] = [await registerUser(), await registerUser()];
    const t = await ticket(alice);
    expect(t.url).toMatch(/^ws:\/\/127\.0\.0\.1:8787\/api\/v1\/notifications\/stream\?ticket=/);
    expect((await connect(t.ticket)).status).toBe(101);
    expect((await connect(t.ticket)).status).toBe(401);
    // Alice's secret under Bob's id: Bob's hub never issued it.
    const forged = `${bob.user.id}.${(await ticket(alice)).ticket.split('.')[1]}`;
    expect((await connect(forged)).status).toBe(401);
    expect((await connect(`${alice.user.id}.${'A'.repeat(43)}`)).status).toBe(401);
    const stale = await ticket(alice);
    await runInDurableObject(hub(alice.user.id), async (_i, state) => {
      const entries = await state.storage.list<{ sessionId: string; expiresAt: number }>({ prefix: 'ticket:' });
      for (const [k, v] of entries) await state.storage.put(k, { ...v, expiresAt: Date.now() - 1 });
    });
    expect((await connect(stale.ticket)).status).toBe(401);
  });

  it('refuses a missing upgrade, a malformed ticket, a foreign Origin and anonymous ticket requests', async () => {
    const user = await registerUser();
    expect((await call(`/api/v1/notifications/stream?ticket=${(await ticket(user)).ticket}`)).status).toBe(400);
    expect((await connect('not-a-ticket')).status).toBe(400);
    expect((await connect((await ticket(user)).ticket, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await connect((await ticket(user)).ticket, { Origin: 'http://localhost:3000' })).status).toBe(101);
    expect((await call('/api/v1/notifications/stream/ticket', { method: 'POST' })).status).toBe(401);
  });

  it('keeps sockets across hibernation (eviction) and still delivers to them', async () => {
    const user = await registerUser();
    const { messages } = await open(user);
    await evictDurableObject(hub(user.user.id));
    const count = await hub(user.user.id).connectionCount();
    expect(count).toBe(1);
    expect(await hub(user.user.id).publish({ type: 'notification', id: 'x', kind: 'k', category: 'transactional', title: 't', body: 'b', data: null })).toBe(1);
    await eventually(() => messages.length === 1);
  });

  it('answers ping with pong without waking the object', async () => {
    const user = await registerUser();
    const { ws, messages } = await open(user);
    ws.send('ping');
    await eventually(() => messages.includes('pong'));
  });

  it('closes sockets past their maximum age (4001: fetch a new ticket), via the alarm', async () => {
    const user = await registerUser();
    const { closes } = await open(user);
    await runInDurableObject(hub(user.user.id), (_i: NotificationHub, state) => {
      for (const ws of state.getWebSockets()) {
        const a = ws.deserializeAttachment() as SocketAttachment;
        ws.serializeAttachment({ ...a, expiresAt: Date.now() - 1 });
      }
    });
    expect(await runDurableObjectAlarm(hub(user.user.id))).toBe(true);
    await eventually(() => closes.includes(CLOSE_REAUTH));
  });

  it('closes the socket of a revoked or logged-out session at once (4003), and only that one', async () => {
    const user = await registerUser();
    const laptop = await json<TokenPair>(await call('/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() }));
    const [phoneSocket, laptopSocket] = [await open(user), await open(laptop)];
    const sid = (JSON.parse(atob(user.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sid: string }).sid;
    expect((await call(`/api/v1/auth/sessions/${sid}`, { method: 'DELETE', token: laptop.accessToken })).status).toBe(204);
    await eventually(() => phoneSocket.closes.includes(CLOSE_SESSION_ENDED));
    expect(laptopSocket.closes).toEqual([]);
    // The laptop's feed still works after the phone's session ended.
    expect(await hub(user.user.id).publish({ type: 'notification', id: 'x', kind: 'k', category: 'transactional', title: 't', body: 'b', data: null })).toBe(1);
    await eventually(() => laptopSocket.messages.length === 1);
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: laptop.accessToken })).status).toBe(204);
    await eventually(() => laptopSocket.closes.includes(CLOSE_SESSION_ENDED));
    expect(phoneSocket.closes).toEqual([CLOSE_SESSION_ENDED]);
  });

  it(`keeps at most ${MAX_SOCKETS_PER_USER} sockets per user, closing the oldest`, async () => {
    const user = await registerUser();
    const sockets: Awaited<ReturnType<typeof open>>[] = [];
    for (let i = 0; i < MAX_SOCKETS_PER_USER + 1; i += 1) sockets.push(await open(user));
    await eventually(() => sockets[0]!.closes.includes(CLOSE_TOO_MANY));
    expect(sockets.slice(1).every((s) => s.closes.length === 0)).toBe(true);
  });
});
