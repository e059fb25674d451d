import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { webhookEndpoints } from '../../../src/db/schema/app';
import { checkWebhookUrl } from '../../../src/features/webhooks-out/webhooks-out.ssrf';
import { call, json, registerUser } from '../../helpers/api';
import { callWithEnv } from '../../helpers/tokens';
import { errorCode, registerAdmin } from '../../helpers/users';
import { db, receiver, subscribe, waitFor, type CreatedEndpoint } from './webhook-helpers';

interface Payload {
  type: string;
  version: number;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A fresh role with no permissions (granting it passes every ceiling), granted to the user. */
async function grantFreshRole(token: string, userId: string): Promise<string> {
  const name = `wh-${crypto.randomUUID().slice(0, 8)}`;
  const role = await json<{ id: string }>(await call('/api/v1/roles', { token, body: { name, permissions: [] } }));
  const res = await call(`/api/v1/users/${userId}/roles/${role.id}`, { token, method: 'PUT' });
  expect(res.status).toBe(200);
  return name;
}

describe('outbound webhooks', () => {
  it('delivers user.created for a new registration, signed so the standardwebhooks library verifies it', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    await subscribe(admin.accessToken, r);
    const user = await registerUser();
    const got = await waitFor(async () => (await r.received()).find((w) => (JSON.parse(w.body) as Payload).data.userId === user.user.id), 'the delivery');
    expect(got.verifiedWith).toEqual([0]);
    const payload = JSON.parse(got.body) as Payload;
    expect(payload).toEqual({ type: 'user.created', version: 1, timestamp: expect.any(String), data: { userId: user.user.id } });
    // Ids only: no email on the wire.
    expect(got.body).not.toContain(user.email);
    expect(got.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('creates the secret server-side, shows it once and stores it encrypted', async () => {
    const admin = await registerAdmin();
    const ep = await subscribe(admin.accessToken, receiver());
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const read = await json<Record<string, unknown>>(await call(`/api/v1/webhooks/endpoints/${ep.id}`, { token: admin.accessToken }));
    expect(read).not.toHaveProperty('secret');
    const list = await json<{ data: Record<string, unknown>[] }>(await call('/api/v1/webhooks/endpoints', { token: admin.accessToken }));
    expect(JSON.stringify(list)).not.toContain(ep.secret);
    const row = await db().app.select().from(webhookEndpoints).where(eq(webhookEndpoints.publicId, ep.id)).get();
    expect(row?.secretCiphertext).not.toContain(ep.secret.slice(6, 20));
  });

  it('signs with both secrets for 24 h after a rotation: each verifies on its own', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['role.granted']);
    const res = await call(`/api/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { token: admin.accessToken, method: 'POST' });
    expect(res.status).toBe(200);
    const rotated = await json<{ secret: string; previousSecretExpiresAt: string }>(res);
    expect(rotated.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    await r.configure({ secrets: [ep.secret, rotated.secret, 'whsec_' + btoa('x'.repeat(32))] });
    const user = await registerUser();
    const role = await grantFreshRole(admin.accessToken, user.user.id);
    const got = await waitFor(async () => (await r.received()).find((w) => (JSON.parse(w.body) as Payload).data.userId === user.user.id), 'role.granted');
    expect(JSON.parse(got.body)).toMatchObject({ type: 'role.granted', data: { userId: user.user.id, role } });
    expect(got.signature.split(' ')).toHaveLength(2);
    expect(got.verifiedWith).toEqual([0, 1]);
    // After the overlap only the new secret signs.
    await db().app.update(webhookEndpoints).set({ previousSecretExpiresAt: new Date(Date.now() - 1000) }).where(eq(webhookEndpoints.publicId, ep.id));
    const other = await registerUser();
    await grantFreshRole(admin.accessToken, other.user.id);
    const later = await waitFor(async () => (await r.received()).find((w) => (JSON.parse(w.body) as Payload).data.userId === other.user.id), 'second role.granted');
    expect(later.verifiedWith).toEqual([1]);
  });

  it('sends only subscribed event types and nothing to a paused endpoint', async () => {
    const admin = await registerAdmin();
    const r = receiver();
    const ep = await subscribe(admin.accessToken, r, ['user.deleted']);
    const paused = receiver();
    const pausedEp = await subscribe(admin.accessToken, paused, ['user.created']);
    const patch = await call(`/api/v1/webhooks/endpoints/${pausedEp.id}`, { token: admin.accessToken, method: 'PATCH', body: { status: 'paused' } });
    expect((await json<CreatedEndpoint>(patch)).status).toBe('paused');
    const user = await registerUser();
    expect((await call(`/api/v1/users/${user.user.id}`, { token: admin.accessToken, method: 'DELETE' })).status).toBe(204);
    const got = await waitFor(async () => (await r.received()).find((w) => (JSON.parse(w.body) as Payload).data.userId === user.user.id), 'user.deleted');
    expect((JSON.parse(got.body) as Payload).type).toBe('user.deleted');
    expect((await r.received()).every((w) => (JSON.parse(w.body) as Payload).type === 'user.deleted')).toBe(true);
    expect(await paused.received()).toEqual([]);
    expect(ep.id).toBeTruthy();
  });

  it('refuses a non-admin with 403 and an anonymous caller with 401', async () => {
    const user = await registerUser();
    const body = { url: receiver().url, eventTypes: ['user.created'] };
    expect((await call('/api/v1/webhooks/endpoints', { token: user.accessToken, body })).status).toBe(403);
    expect((await call('/api/v1/webhooks/endpoints', { token: user.accessToken })).status).toBe(403);
    expect((await call('/api/v1/webhooks/endpoints', { body })).status).toBe(401);
  });

  it('refuses unknown event types and read-only keys', async () => {
    const admin = await registerAdmin();
    const url = receiver().url;
    expect((await call('/api/v1/webhooks/endpoints', { token: admin.accessToken, body: { url, eventTypes: ['user.hacked'] } })).status).toBe(400);
    expect((await call('/api/v1/webhooks/endpoints', { token: admin.accessToken, body: { url, eventTypes: ['user.created'], secret: 'whsec_mine' } })).status).toBe(400);
  });

  it('refuses http, loopback, private and metadata targets in production', async () => {
    const admin = await registerAdmin();
    for (const url of ['http://127.0.0.1:9/hook', 'https://127.0.0.1/hook', 'http://hooks.example.com/x', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/x', 'https://metadata.google.internal/']) {
      const res = await callWithEnv({ APP_ENV: 'production' }, '/api/v1/webhooks/endpoints', { token: admin.accessToken, body: { url, eventTypes: ['user.created'] } });
      expect(res.status, url).toBe(422);
      expect(await errorCode(res)).toBe('WEBHOOK_URL_REFUSED');
    }
    const ok = await callWithEnv({ APP_ENV: 'production' }, '/api/v1/webhooks/endpoints', { token: admin.accessToken, body: { url: 'https://hooks.example.com/x', eventTypes: ['user.created'] } });
    expect(ok.status).toBe(201);
    await db().app.delete(webhookEndpoints).where(eq(webhookEndpoints.url, 'https://hooks.example.com/x'));
  });

  it('classifies IPv4 and IPv6 literals, encodings and internal names (production rules)', () => {
    const refused = [
      'https://10.0.0.1/',
      'https://172.16.5.4/',
      'https://192.168.1.1/',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://2130706433/', // 127.0.0.1 as one number
      'https://0x7f.1/',
      'https://[::ffff:127.0.0.1]/',
      'https://[::ffff:a9fe:a9fe]/', // 169.254.169.254 mapped
      'https://[fd00:ec2::254]/',
      'https://[fe80::1]/',
      'https://[::]/',
      'https://localhost/',
      'https://api.localhost/',
      'https://db.internal/',
      'https://printer.local/',
      'https://intranet/',
      'https://user:pass@hooks.example.com/',
      'ftp://hooks.example.com/',
      'not a url',
    ];
    for (const url of refused) expect(checkWebhookUrl(url, { production: true }).ok, url).toBe(false);
    for (const url of ['https://hooks.example.com/x', 'https://8.8.8.8/', 'https://[2606:4700::1111]/']) expect(checkWebhookUrl(url, { production: true }).ok, url).toBe(true);
    // Development: the local receiver only, nothing else private.
    expect(checkWebhookUrl('http://127.0.0.1:8080/x', { production: false }).ok).toBe(true);
    expect(checkWebhookUrl('http://10.0.0.1/x', { production: false }).ok).toBe(false);
    expect(checkWebhookUrl('http://hooks.example.com/x', { production: false }).ok).toBe(false);
  });

  it('updates, lists and deletes an endpoint; 404 for an unknown id', async () => {
    const admin = await registerAdmin();
    const ep = await subscribe(admin.accessToken, receiver());
    const res = await call(`/api/v1/webhooks/endpoints/${ep.id}`, { token: admin.accessToken, method: 'PATCH', body: { eventTypes: ['user.created', 'session.revoked'], description: 'crm' } });
    expect(await json(res)).toMatchObject({ eventTypes: ['user.created', 'session.revoked'], description: 'crm' });
    expect((await call(`/api/v1/webhooks/endpoints/${ep.id}`, { token: admin.accessToken, method: 'DELETE' })).status).toBe(204);
    expect((await call(`/api/v1/webhooks/endpoints/${ep.id}`, { token: admin.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/webhooks/deliveries/${crypto.randomUUID()}/replay`, { token: admin.accessToken, method: 'POST' })).status).toBe(404);
    expect(env.APP_ENV).toBe('development');
  });
});
