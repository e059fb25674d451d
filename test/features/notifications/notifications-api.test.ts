import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, json } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';
import { notify } from '../../../src/features/notifications/notifications.service';
import { db, emailInput, prepared, registerQuietUser as registerUser, smsConsentCode } from './notification-helpers';

interface View {
  id: string;
  channel: string;
  status: string;
  title: string;
  body: string | null;
  readAt: string | null;
  recipient: string | null;
}
interface Page {
  data: View[];
  nextCursor: string | null;
}

async function list(token: string, query = ''): Promise<Page> {
  const res = await call(`/api/v1/notifications${query}`, { token });
  expect(res.status).toBe(200);
  return json<Page>(res);
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('notifications API', () => {
  it('delivers end to end: admin send → queue → consumer → the user sees it delivered', async () => {
    const admin = await registerAdmin();
    const user = await registerUser();
    const res = await call('/api/v1/notifications', {
      token: admin.accessToken,
      body: { userId: user.user.id, channels: ['email', 'in_app'], category: 'transactional', kind: 'ops.notice', content: { title: 'Maintenance tonight', body: 'We will be down 5 minutes.' } },
    });
    expect(res.status).toBe(202);
    const sent = await json<{ notifications: { id: string; status: string }[] }>(res);
    expect(sent.notifications.map((n) => n.status)).toEqual(['queued', 'queued']);
    const page = await until(() => list(user.accessToken), (p) => p.data.length === 2 && p.data.every((n) => n.status === 'delivered'));
    expect(page.data.map((n) => n.status)).toEqual(['delivered', 'delivered']);
    const inApp = page.data.find((n) => n.channel === 'in_app')!;
    expect(inApp).toMatchObject({ title: 'Maintenance tonight', body: 'We will be down 5 minutes.', readAt: null });
    const email = page.data.find((n) => n.channel === 'email')!;
    expect(email.body).toBeNull();
    // The operator action is audited.
    const audit = await until(
      () => env.LOGS_DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE action = 'notification.send' AND target_id = ?1").bind(user.user.id).first<number>('n'),
      (n) => n === 1,
    );
    expect(audit).toBe(1);
  });

  it('lists only the caller’s notifications, newest first, with cursor pagination and filters', async () => {
    const [alice, bob] = [await registerUser(), await registerUser()];
    for (let i = 0; i < 3; i += 1) await prepared(emailInput(alice.user.id, { channels: ['in_app'], content: { title: `A${i}`, body: 'x' } }));
    await prepared(emailInput(bob.user.id, { channels: ['in_app'], content: { title: 'B', body: 'x' } }));
    const first = await list(alice.accessToken, '?limit=2');
    expect(first.data.map((n) => n.title)).toEqual(['A2', 'A1']);
    const second = await list(alice.accessToken, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.data.map((n) => n.title)).toEqual(['A0']);
    expect(second.nextCursor).toBeNull();
    expect((await list(alice.accessToken, '?channel=email')).data).toEqual([]);
    expect((await list(alice.accessToken, '?status=queued')).data).toHaveLength(3);
    for (const bad of ['?limit=0', '?cursor=%%%', '?status=lost', '?channel=fax', '?unread=maybe', '?other=1']) {
      const res = await call(`/api/v1/notifications${bad}`, { token: alice.accessToken });
      expect(res.status, bad).toBe(400);
    }
  });

  it('marks one read (idempotently) and all read; another user’s id is a 404', async () => {
    const [alice, mallory] = [await registerUser(), await registerUser()];
    const [a1] = await prepared(emailInput(alice.user.id, { channels: ['in_app'] }));
    await prepared(emailInput(alice.user.id, { channels: ['in_app'] }));
    expect((await call(`/api/v1/notifications/${a1!.id}/read`, { method: 'POST', token: mallory.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/notifications/${a1!.id}/read`, { method: 'POST', token: alice.accessToken })).status).toBe(204);
    const readAt = (await list(alice.accessToken)).data.find((n) => n.id === a1!.id)!.readAt;
    expect(readAt).not.toBeNull();
    expect((await call(`/api/v1/notifications/${a1!.id}/read`, { method: 'POST', token: alice.accessToken })).status).toBe(204);
    expect((await list(alice.accessToken)).data.find((n) => n.id === a1!.id)!.readAt).toBe(readAt);
    expect((await list(alice.accessToken, '?unread=true')).data).toHaveLength(1);
    const all = await call('/api/v1/notifications/read-all', { method: 'POST', token: alice.accessToken });
    expect(await json(all)).toEqual({ updated: 1 });
    expect((await list(alice.accessToken, '?unread=true')).data).toEqual([]);
    expect((await call('/api/v1/notifications/not-a-uuid/read', { method: 'POST', token: alice.accessToken })).status).toBe(400);
  });

  it('lets admins with notifications:read list any user’s notifications; users only their own', async () => {
    const admin = await registerAdmin();
    const [alice, mallory] = [await registerUser(), await registerUser()];
    await prepared(emailInput(alice.user.id, { channels: ['in_app'], content: { title: 'For Alice', body: 'x' } }));
    const asAdmin = await call(`/api/v1/notifications/users/${alice.user.id}`, { token: admin.accessToken });
    expect(asAdmin.status).toBe(200);
    expect((await json<Page>(asAdmin)).data.map((n) => n.title)).toEqual(['For Alice']);
    expect((await call(`/api/v1/notifications/users/${alice.user.id}`, { token: alice.accessToken })).status).toBe(200);
    const denied = await call(`/api/v1/notifications/users/${alice.user.id}`, { token: mallory.accessToken });
    expect(denied.status).toBe(404);
    expect((await call(`/api/v1/notifications/users/${crypto.randomUUID()}`, { token: admin.accessToken })).status).toBe(404);
  });

  it('keeps the send route to notifications:write and to existing users', async () => {
    const [admin, user] = [await registerAdmin(), await registerUser()];
    const body = { userId: user.user.id, channels: ['in_app'], category: 'transactional', kind: 'x', content: { title: 'x', body: 'x' } };
    const asUser = await call('/api/v1/notifications', { token: user.accessToken, body });
    expect(asUser.status).toBe(403);
    expect(await errorCode(asUser)).toBe('FORBIDDEN');
    expect((await call('/api/v1/notifications', { token: admin.accessToken, body: { ...body, userId: crypto.randomUUID() } })).status).toBe(404);
    const invalid = await call('/api/v1/notifications', { token: admin.accessToken, body: { ...body, content: { title: 'a\nb', body: '' } } });
    expect(invalid.status).toBe(400);
    expect((await json<{ error: { details: { field: string }[] } }>(invalid)).error.details.map((d) => d.field)).toEqual(['content.title', 'content.body']);
  });
});

describe('operator send: no relay, no forged security notices', () => {
  const send = (token: string, body: Record<string, unknown>) => call('/api/v1/notifications', { token, body });
  const base = (userId: string) => ({ userId, channels: ['email'], category: 'transactional', kind: 'ops.notice', content: { title: 'Hello', body: 'Hi' } });
  const recorded = (userId: string) => env.APP_DB.prepare('SELECT count(*) AS n FROM notifications WHERE user_public_id = ?1').bind(userId).first<number>('n');

  it('refuses category security from the API with 400, while business code still sends it through notify()', async () => {
    const [admin, user] = [await registerAdmin(), await registerUser()];
    const res = await send(admin.accessToken, { ...base(user.user.id), category: 'security', kind: 'auth.password_reset' });
    expect(res.status).toBe(400);
    expect((await json<{ error: { details: { field: string; message: string }[] } }>(res)).error.details).toEqual([
      { field: 'category', message: 'Expected transactional or marketing (security notices are sent by the system only)' },
    ]);
    expect(await recorded(user.user.id)).toBe(0);
    const internal = await notify({ db: db(), env }, { ...base(user.user.id), category: 'security', kind: 'auth.test_notice', channels: ['email'] });
    expect(internal.notifications).toEqual([expect.objectContaining({ channel: 'email', status: 'queued', duplicate: false })]);
  });

  it("sends only to the user's own email: another address is 422, the own one (any case) or none is accepted", async () => {
    const [admin, user] = [await registerAdmin(), await registerUser()];
    const relay = await send(admin.accessToken, { ...base(user.user.id), to: { email: 'victim@example.org' } });
    expect(relay.status).toBe(422);
    const body = await json<{ error: { code: string; details: { field: string }[] } }>(relay);
    expect(body.error.code).toBe('BUSINESS_RULE');
    expect(body.error.details.map((d) => d.field)).toEqual(['to.email']);
    expect(await recorded(user.user.id)).toBe(0);
    expect((await send(admin.accessToken, { ...base(user.user.id), to: { email: user.email.toUpperCase() } })).status).toBe(202);
    expect((await send(admin.accessToken, base(user.user.id))).status).toBe(202);
  });

  it('sends SMS only to a number the user recorded, never to another user’s or an arbitrary one', async () => {
    const [admin, user, other] = [await registerAdmin(), await registerUser(), await registerUser()];
    const consent = (userId: string, phone: string) =>
      env.APP_DB.prepare("INSERT INTO sms_consents (public_id, created_at, updated_at, user_public_id, phone, source) VALUES (?1, 0, 0, ?2, ?3, 'api')").bind(crypto.randomUUID(), userId, phone).run();
    const own = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const theirs = `+1556${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    await consent(user.user.id, own);
    await consent(other.user.id, theirs);
    const sms = (phone: string) => send(admin.accessToken, { ...base(user.user.id), channels: ['sms_transactional'], to: { phone } });
    for (const phone of ['+15550000000', theirs]) {
      const res = await sms(phone);
      expect(res.status, phone).toBe(422);
      expect((await json<{ error: { details: { field: string }[] } }>(res)).error.details.map((d) => d.field)).toEqual(['to.phone']);
    }
    const both = await send(admin.accessToken, { ...base(user.user.id), channels: ['email', 'sms_transactional'], to: { email: 'x@example.org', phone: theirs } });
    expect((await json<{ error: { details: { field: string }[] } }>(both)).error.details.map((d) => d.field)).toEqual(['to.email', 'to.phone']);
    expect(await recorded(user.user.id)).toBe(0);
    expect((await sms(own)).status).toBe(202);
  });

  it('refuses a soft-deleted user with 404', async () => {
    const [admin, user] = [await registerAdmin(), await registerUser()];
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ?1 WHERE public_id = ?2').bind(Date.now(), user.user.id).run();
    expect((await send(admin.accessToken, base(user.user.id))).status).toBe(404);
    expect(await recorded(user.user.id)).toBe(0);
  });
});

describe('notification preferences', () => {
  it('defaults every channel on and says which categories are always delivered', async () => {
    const user = await registerUser();
    const prefs = await json<{ channels: Record<string, { enabled: boolean; quietHours: unknown; alwaysDelivered: string[] }> }>(await call('/api/v1/notifications/preferences', { token: user.accessToken }));
    expect(Object.keys(prefs.channels).sort()).toEqual(['email', 'in_app', 'push', 'sms_promotional', 'sms_transactional']);
    expect(prefs.channels.email).toEqual({ enabled: true, quietHours: null, alwaysDelivered: ['security'] });
    expect(prefs.channels.sms_promotional!.alwaysDelivered).toEqual([]);
  });

  it('updates only the channels given, and validates the rest', async () => {
    const user = await registerUser();
    const put = await call('/api/v1/notifications/preferences', { method: 'PUT', token: user.accessToken, body: { channels: { email: { enabled: false }, push: { quietHours: { start: '22:30', end: '07:00' } } } } });
    expect(put.status).toBe(200);
    const prefs = await json<{ channels: Record<string, { enabled: boolean; quietHours: unknown }> }>(put);
    expect(prefs.channels.email!.enabled).toBe(false);
    expect(prefs.channels.push).toMatchObject({ enabled: true, quietHours: { start: '22:30', end: '07:00' } });
    const again = await call('/api/v1/notifications/preferences', { method: 'PUT', token: user.accessToken, body: { channels: { push: { quietHours: null } } } });
    expect((await json<{ channels: Record<string, { enabled: boolean; quietHours: unknown }> }>(again)).channels).toMatchObject({ email: { enabled: false }, push: { quietHours: null } });
    for (const body of [{ channels: {} }, { channels: { fax: { enabled: true } } }, { channels: { push: { quietHours: { start: '25:00', end: '07:00' } } } }, { channels: { push: { quietHours: { start: '07:00', end: '07:00' } } } }, { channels: { email: { enabled: 'no' } } }]) {
      const res = await call('/api/v1/notifications/preferences', { method: 'PUT', token: user.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call('/api/v1/notifications/preferences', { method: 'PUT', body: { channels: { email: { enabled: true } } } })).status).toBe(401);
  });

  it('records SMS consent, once the texted code is confirmed, with its evidence (network prefix, not the full IP)', async () => {
    const user = await registerUser();
    const since = Date.now();
    const res = await call('/api/v1/notifications/sms-consent', { method: 'PUT', token: user.accessToken, ip: '203.0.113.77', headers: { 'User-Agent': 'app/1.0' }, body: { phone: '+14155550123', promotional: true, timeZone: 'America/New_York' } });
    expect(res.status).toBe(202);
    const verify = await call('/api/v1/notifications/sms-consent/verify', { token: user.accessToken, body: { code: await smsConsentCode('+14155550123', since) } });
    expect(verify.status).toBe(200);
    expect(await json(verify)).toMatchObject({ phone: '+14155550123', promotional: true, transactionalOptOut: false, timeZone: 'America/New_York' });
    const row = await env.APP_DB.prepare('SELECT evidence, source FROM sms_consents WHERE phone = ?1').bind('+14155550123').first<{ evidence: string; source: string }>();
    expect(row!.source).toBe('api');
    expect(JSON.parse(row!.evidence)).toMatchObject({ ipPrefix: '203.0.113.0/24', userAgent: 'app/1.0' });
    expect(row!.evidence).not.toContain('203.0.113.77');
    const listed = await json<{ data: unknown[] }>(await call('/api/v1/notifications/sms-consent', { token: user.accessToken }));
    expect(listed.data).toHaveLength(1);
    for (const body of [{ phone: '4155550123', promotional: true }, { phone: '+14155550123', promotional: true, timeZone: 'Mars/Olympus' }, { phone: '+14155550123' }]) {
      expect((await call('/api/v1/notifications/sms-consent', { method: 'PUT', token: user.accessToken, body })).status).toBe(400);
    }
  });
});
