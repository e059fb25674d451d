import { exports } from 'cloudflare:workers';
import { hc } from 'hono/client';
import { describe, expect, it } from 'vitest';
import type { AppType } from '../../src/app';
import { BASE, freshIp } from '../helpers/api';
import { assertResponseContract } from '../helpers/contract';

/** Hono's typed client over the Worker under test; every response still goes through the contract check. */
function client(ip = freshIp(), token?: string) {
  return hc<AppType>(BASE, {
    headers: { 'CF-Connecting-IP': ip, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      const res = await exports.default.fetch(req);
      await assertResponseContract(req.method, req.url, res);
      return res;
    },
  });
}

type Client = ReturnType<typeof client>;
const ID = '01920000-0000-7000-8000-000000000000';

/**
 * One typed call per route. Never run: it exists to be type-checked (`npm run typecheck`), so a
 * route whose path, params, query or body the client cannot express fails the build.
 */
export function everyRoute(c: Client) {
  const v1 = c.api.v1;
  return [
    v1.auth.register.$post({ json: { email: 'a@example.com', password: 'correct horse battery staple', fullName: 'A' } }),
    v1.auth.login.$post({ json: { email: 'a@example.com', password: 'x', mfaCode: '123456', deviceToken: 'x' } }),
    v1.auth.refresh.$post({ json: { refreshToken: 'x' } }),
    v1.auth.logout.$post(),
    v1.auth.password.$post({ json: { currentPassword: 'x', newPassword: 'y' } }),
    v1.auth.sessions.$get(),
    v1.auth.sessions[':id'].$delete({ param: { id: ID } }),
    v1.auth.password.forgot.$post({ json: { email: 'a@example.com' } }),
    v1.auth.password.reset.$post({ json: { token: 'x', newPassword: 'y' } }),
    v1.auth.email.verify.request.$post(),
    v1.auth.email.verify.$post({ json: { token: 'x' } }),
    v1.auth.email.change.$post({ json: { newEmail: 'b@example.com', password: 'x' } }),
    v1.auth.email.change.confirm.$post({ json: { token: 'x' } }),
    v1.auth.mfa.$get(),
    v1.auth.mfa.totp.setup.$post({ json: { password: 'x' } }),
    v1.auth.mfa.totp.enable.$post({ json: { code: '123456' } }),
    v1.auth.mfa.totp.disable.$post({ json: { password: 'x', code: '123456' } }),
    v1.auth.mfa['recovery-codes'].$post({ json: { password: 'x', code: '123456' } }),
    v1.users.me.$get(),
    v1.users.$get({ query: { limit: '10', email: 'a@example.com' } }),
    v1.users[':id'].$get({ param: { id: ID }, query: { includeDeleted: 'true' } }),
    v1.users[':id'].$put({ param: { id: ID }, json: { fullName: 'A', email: 'a@example.com', emailVerified: true } }),
    v1.users[':id'].$patch({ param: { id: ID }, json: { fullName: 'A' } }),
    v1.users[':id'].$delete({ param: { id: ID } }),
    v1.users[':id'].restore.$post({ param: { id: ID } }),
    v1.users[':id'].roles[':roleId'].$put({ param: { id: ID, roleId: ID } }),
    v1.users[':id'].roles[':roleId'].$delete({ param: { id: ID, roleId: ID } }),
    v1.roles.$get(),
    v1.roles.$post({ json: { name: 'editor', permissions: ['users:read'] } }),
    v1.roles[':id'].$get({ param: { id: ID } }),
    v1.roles[':id'].$put({ param: { id: ID }, json: { name: 'editor', description: 'd', permissions: [] } }),
    v1.roles[':id'].$delete({ param: { id: ID } }),
    v1['api-keys'].$get(),
    v1['api-keys'].$post({ json: { name: 'ci', permissions: ['users:read'] } }),
    v1['api-keys'][':id'].rotate.$post({ param: { id: ID } }),
    v1['api-keys'][':id'].$delete({ param: { id: ID } }),
    v1.logs.$get({ query: { limit: '10' } }),
    v1['client-versions'].$get(),
    v1['client-versions'][':platform'].$put({ param: { platform: 'ios' }, json: { minVersion: '1.0.0', latestVersion: '1.2.0' } }),
    v1['client-versions'][':platform'].$delete({ param: { platform: 'ios' } }),
    v1.webhooks.twilio.sms.$post(),
    v1.notifications.preferences.$get(),
    v1.notifications.preferences.$put({ json: { channels: { email: { enabled: false } } } }),
    v1.notifications['sms-consent'].$get(),
    v1.notifications['sms-consent'].$put({ json: { phone: '+15555550100', promotional: false } }),
    v1.notifications['sms-consent'].verify.$post({ json: { code: '123456' } }),
    v1.notifications.stream.ticket.$post(),
    v1.notifications.stream.$get({ query: { ticket: 'x' } }),
    v1.notifications.$get({ query: { limit: '10' } }),
    v1.notifications['read-all'].$post(),
    v1.notifications[':id'].read.$post({ param: { id: ID } }),
    v1.notifications.users[':id'].$get({ param: { id: ID }, query: {} }),
    v1.notifications.$post({ json: { userId: ID, channels: ['in_app'], category: 'transactional', kind: 'welcome', content: { title: 't', body: 'b' } } }),
    v1.devices.$post({ json: { platform: 'android', token: 'x' } }),
    v1.devices.$get(),
    v1.devices[':id'].$delete({ param: { id: ID } }),
    v1.health.$get(),
    v1['openapi.json'].$get(),
    c['.well-known']['jwks.json'].$get(),
    c.docs.$get(),
  ];
}

describe("Hono's typed client (hc<AppType>)", () => {
  it('registers, reads the caller and lists its sessions with typed inputs and outputs', async () => {
    const anon = client();
    const email = `typed-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const registered = await anon.api.v1.auth.register.$post({ json: { email, password: 'correct horse battery staple', fullName: 'Typed Client' } });
    expect(registered.status).toBe(201);
    const pair = await registered.json();
    if (!('accessToken' in pair)) throw new Error('register answered an error');
    const signedIn = client(freshIp(), pair.accessToken);
    const me = await signedIn.api.v1.users.me.$get();
    expect(me.status).toBe(200);
    const user = await me.json();
    expect('email' in user && user.email).toBe(email);
    const renamed = await signedIn.api.v1.users[':id'].$patch({ param: { id: pair.user.id }, json: { fullName: 'Renamed' } });
    expect(renamed.status).toBe(200);
    const sessions = await signedIn.api.v1.auth.sessions.$get();
    const list = await sessions.json();
    expect('data' in list && list.data.length).toBe(1);
  });

  it('carries the contract error envelope for a refused input', async () => {
    const res = await client().api.v1.auth.login.$post({ json: { email: 'not-an-email', password: '' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION_ERROR' } });
  });
});
