import { exportPKCS8, generateKeyPair, jwtVerify, decodeProtectedHeader } from 'jose';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { devices } from '../../../src/db/schema/app';
import { ApnsPushSender, clearApnsTokenCache } from '../../../src/features/notifications/channels/push-apns';
import { clearFcmTokenCache, FcmPushSender, type FcmServiceAccount } from '../../../src/features/notifications/channels/push-fcm';
import type { PushMessage } from '../../../src/features/notifications/channels/types';
import { call, registerUser } from '../../helpers/api';
import { consume, db, httpStub, jsonResponse, prepared, record } from './notification-helpers';

const APNS_TOKEN = 'a'.repeat(64);
const FCM_TOKEN = `fcm-token-${'x'.repeat(40)}:APA91b`;

function push(token: string): PushMessage {
  return { token, title: 'New message', body: 'You have a new message', data: { threadId: 't1' }, notificationId: crypto.randomUUID() };
}

async function fcmAccount() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const sa: FcmServiceAccount = { project_id: 'demo-project', client_email: `push-${crypto.randomUUID().slice(0, 8)}@demo.iam.gserviceaccount.com`, private_key: await exportPKCS8(privateKey), token_uri: 'https://oauth2.googleapis.com/token' };
  return { sa, publicKey };
}

const fcmError = (status: number, code: string, errorCode?: string) =>
  jsonResponse(status, { error: { code: status, status: code, details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [] } });

describe('FCM HTTP v1 (HTTP boundary)', () => {
  beforeEach(() => clearFcmTokenCache());

  it('signs a service-account JWT, exchanges it once, and caches the access token', async () => {
    const { sa, publicKey } = await fcmAccount();
    const stub = httpStub([jsonResponse(200, { access_token: 'ya29.first', expires_in: 3600 }), jsonResponse(200, { name: 'projects/demo-project/messages/1' })]);
    const sender = new FcmPushSender({ serviceAccount: sa, fetch: stub.fetch });
    expect(await sender.send(push(FCM_TOKEN))).toEqual({ ok: true, provider: 'fcm', providerMessageId: 'projects/demo-project/messages/1' });
    expect(await sender.send(push(FCM_TOKEN))).toMatchObject({ ok: true });

    const [tokenReq, send1, send2] = stub.requests;
    expect(stub.requests).toHaveLength(3);
    expect(tokenReq!.url).toBe('https://oauth2.googleapis.com/token');
    const form = new URLSearchParams(new TextDecoder().decode(await tokenReq!.arrayBuffer()));
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const { payload, protectedHeader } = await jwtVerify(form.get('assertion')!, publicKey, { issuer: sa.client_email, audience: sa.token_uri, algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
    expect(payload.exp! - payload.iat!).toBe(3600);

    for (const req of [send1!, send2!]) {
      expect(req.url).toBe('https://fcm.googleapis.com/v1/projects/demo-project/messages:send');
      expect(req.headers.get('Authorization')).toBe('Bearer ya29.first');
    }
    const body = (await send1!.json()) as { message: { token: string; notification: unknown; data: Record<string, string> } };
    expect(body.message.token).toBe(FCM_TOKEN);
    expect(body.message.notification).toEqual({ title: 'New message', body: 'You have a new message' });
    expect(body.message.data.threadId).toBe('t1');
  });

  it('reports UNREGISTERED and SENDER_ID_MISMATCH tokens as dead', async () => {
    const { sa } = await fcmAccount();
    for (const code of ['UNREGISTERED', 'SENDER_ID_MISMATCH']) {
      clearFcmTokenCache();
      const stub = httpStub([jsonResponse(200, { access_token: 'ya29', expires_in: 3600 }), fcmError(404, 'NOT_FOUND', code)]);
      expect(await new FcmPushSender({ serviceAccount: sa, fetch: stub.fetch }).send(push(FCM_TOKEN))).toMatchObject({ ok: false, retryable: false, deadToken: true });
    }
  });

  it('drops the cached access token on 401 and fetches a new one next time', async () => {
    const { sa } = await fcmAccount();
    const stub = httpStub([
      jsonResponse(200, { access_token: 'ya29.old', expires_in: 3600 }),
      fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'),
      jsonResponse(200, { access_token: 'ya29.new', expires_in: 3600 }),
      jsonResponse(200, { name: 'projects/demo-project/messages/2' }),
    ]);
    const sender = new FcmPushSender({ serviceAccount: sa, fetch: stub.fetch });
    expect(await sender.send(push(FCM_TOKEN))).toMatchObject({ ok: false, retryable: true });
    expect(await sender.send(push(FCM_TOKEN))).toMatchObject({ ok: true });
    expect(stub.requests[3]!.headers.get('Authorization')).toBe('Bearer ya29.new');
  });

  it('retries quota and availability errors, honouring Retry-After', async () => {
    const { sa } = await fcmAccount();
    const stub = httpStub([jsonResponse(200, { access_token: 'ya29', expires_in: 3600 }), jsonResponse(429, { error: { status: 'RESOURCE_EXHAUSTED' } }, { 'Retry-After': '120' })]);
    expect(await new FcmPushSender({ serviceAccount: sa, fetch: stub.fetch }).send(push(FCM_TOKEN))).toMatchObject({ ok: false, retryable: true, retryAfterSeconds: 120 });
  });
});

describe('APNs (HTTP boundary; local workerd has no HTTP/2)', () => {
  beforeEach(() => clearApnsTokenCache());

  async function apns(fetcher: ReturnType<typeof httpStub>['fetch'], environment: 'sandbox' | 'production' = 'production') {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const sender = new ApnsPushSender({ keyP8: await exportPKCS8(privateKey), keyId: 'ABC123DEFG', teamId: 'TEAM123456', bundleId: 'com.example.app', environment, fetch: fetcher });
    return { sender, publicKey };
  }

  it('sends with an ES256 provider token (kid, iss) reused across sends, and the APNs headers', async () => {
    const stub = httpStub([new Response(null, { status: 200, headers: { 'apns-id': 'APNS-ID-1' } })]);
    const { sender, publicKey } = await apns(stub.fetch);
    const m = push(APNS_TOKEN);
    expect(await sender.send(m)).toEqual({ ok: true, provider: 'apns', providerMessageId: 'APNS-ID-1' });
    await sender.send(push(APNS_TOKEN));
    const [first, second] = stub.requests;
    expect(first!.url).toBe(`https://api.push.apple.com/3/device/${APNS_TOKEN}`);
    const jwt = first!.headers.get('authorization')!.replace(/^bearer /, '');
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: 'ABC123DEFG' });
    const { payload } = await jwtVerify(jwt, publicKey, { issuer: 'TEAM123456', algorithms: ['ES256'] });
    expect(typeof payload.iat).toBe('number');
    expect(second!.headers.get('authorization')).toBe(first!.headers.get('authorization'));
    expect(first!.headers.get('apns-topic')).toBe('com.example.app');
    expect(first!.headers.get('apns-push-type')).toBe('alert');
    expect(first!.headers.get('apns-id')).toBe(m.notificationId);
    expect(await first!.json()).toMatchObject({ aps: { alert: { title: 'New message', body: 'You have a new message' } }, threadId: 't1', notificationId: m.notificationId });
  });

  it('uses the sandbox host outside production', async () => {
    const stub = httpStub([new Response(null, { status: 200 })]);
    const { sender } = await apns(stub.fetch, 'sandbox');
    await sender.send(push(APNS_TOKEN));
    expect(stub.requests[0]!.url).toBe(`https://api.sandbox.push.apple.com/3/device/${APNS_TOKEN}`);
  });

  it('reports 410 Unregistered and BadDeviceToken as dead tokens, and a malformed token without calling Apple', async () => {
    const gone = httpStub([jsonResponse(410, { reason: 'Unregistered', timestamp: 1 })]);
    expect(await (await apns(gone.fetch)).sender.send(push(APNS_TOKEN))).toMatchObject({ ok: false, deadToken: true, retryable: false });
    const bad = httpStub([jsonResponse(400, { reason: 'BadDeviceToken' })]);
    expect(await (await apns(bad.fetch)).sender.send(push(APNS_TOKEN))).toMatchObject({ ok: false, deadToken: true });
    const none = httpStub([new Response(null, { status: 200 })]);
    expect(await (await apns(none.fetch)).sender.send(push('../../3/device/x?'))).toMatchObject({ ok: false, deadToken: true });
    expect(none.requests).toHaveLength(0);
  });

  it('drops the provider token when Apple says it expired, and retries 429/5xx', async () => {
    const stub = httpStub([jsonResponse(403, { reason: 'ExpiredProviderToken' }), jsonResponse(429, { reason: 'TooManyRequests' }), new Response(null, { status: 200 })]);
    const { sender } = await apns(stub.fetch);
    expect(await sender.send(push(APNS_TOKEN))).toMatchObject({ ok: false, retryable: true, reason: 'apns ExpiredProviderToken' });
    expect(await sender.send(push(APNS_TOKEN))).toMatchObject({ ok: false, retryable: true });
    expect(await sender.send(push(APNS_TOKEN))).toMatchObject({ ok: true });
  });
});

describe('push through the consumer', () => {
  it('delivers to every device, and removes the tokens the provider reports dead', async () => {
    clearFcmTokenCache();
    const user = await registerUser();
    for (const body of [{ platform: 'ios', token: APNS_TOKEN.replace(/a/g, 'b') }, { platform: 'android', token: `${FCM_TOKEN}-dead` }]) {
      expect((await call('/api/v1/devices', { token: user.accessToken, body })).status).toBe(201);
    }
    const apnsStub = httpStub([new Response(null, { status: 200, headers: { 'apns-id': 'ok' } })]);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const apnsSender = new ApnsPushSender({ keyP8: await exportPKCS8(privateKey), keyId: 'K', teamId: 'T', bundleId: 'com.example.app', environment: 'sandbox', fetch: apnsStub.fetch });
    const { sa } = await fcmAccount();
    const fcmStub = httpStub([jsonResponse(200, { access_token: 'ya29', expires_in: 3600 }), fcmError(404, 'NOT_FOUND', 'UNREGISTERED')]);
    const fcmSender = new FcmPushSender({ serviceAccount: sa, fetch: fcmStub.fetch });

    const [m] = await prepared({ userId: user.user.id, channels: ['push'], category: 'transactional', kind: 'chat.message', content: { title: 'Hi', body: 'New message' } });
    await consume([m!], { channels: { apns: apnsSender, fcm: fcmSender } });
    expect(await record(m!.id)).toMatchObject({ status: 'delivered', provider: 'apns', providerMessageId: '1/2 devices' });
    const left = await db().app.select({ provider: devices.provider }).from(devices).where(eq(devices.userPublicId, user.user.id));
    expect(left).toEqual([{ provider: 'apns' }]);
  });

  it('suppresses a push for a user without devices, and fails one whose every token is dead', async () => {
    const user = await registerUser();
    const [none] = await prepared({ userId: user.user.id, channels: ['push'], category: 'transactional', kind: 'x', content: { title: 'Hi', body: 'x' } });
    await consume([none!]);
    expect(await record(none!.id)).toMatchObject({ status: 'suppressed', reason: 'no_devices' });

    await call('/api/v1/devices', { token: user.accessToken, body: { platform: 'android', token: `${FCM_TOKEN}-gone` } });
    const [m] = await prepared({ userId: user.user.id, channels: ['push'], category: 'transactional', kind: 'x', content: { title: 'Hi', body: 'x' } });
    const dead = { provider: 'fcm', send: async () => ({ ok: false as const, provider: 'fcm', retryable: false, deadToken: true, reason: 'fcm UNREGISTERED' }) };
    await consume([m!], { channels: { fcm: dead } });
    expect(await record(m!.id)).toMatchObject({ status: 'failed', reason: 'all device tokens dead' });
    expect(await env.APP_DB.prepare('SELECT count(*) AS n FROM devices WHERE user_public_id = ?1').bind(user.user.id).first('n')).toBe(0);
  });
});
