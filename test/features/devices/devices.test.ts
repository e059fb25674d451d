import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_USER } from '../../../src/features/devices/devices.service';
import { call, json, registerUser } from '../../helpers/api';

interface Device {
  id: string;
  platform: string;
  provider: string;
  name: string | null;
  tokenSuffix: string;
}

const apnsToken = () => [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
const fcmToken = () => `${crypto.randomUUID()}:APA91b${'x'.repeat(60)}`;

async function devices(token: string): Promise<Device[]> {
  return (await json<{ data: Device[] }>(await call('/api/v1/devices', { token }))).data;
}

describe('devices', () => {
  it('registers a token (201), refreshes it (200), and lists it without the full token', async () => {
    const user = await registerUser();
    const token = apnsToken();
    const first = await call('/api/v1/devices', { token: user.accessToken, body: { platform: 'ios', token, name: 'iPhone' } });
    expect(first.status).toBe(201);
    const device = await json<Device>(first);
    expect(device).toMatchObject({ platform: 'ios', provider: 'apns', name: 'iPhone', tokenSuffix: token.slice(-6) });
    const again = await call('/api/v1/devices', { token: user.accessToken, body: { platform: 'ios', token } });
    expect(again.status).toBe(200);
    expect((await json<Device>(again)).id).toBe(device.id);
    const listed = await devices(user.accessToken);
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(token);
  });

  it('deletes only the caller’s own devices (another user’s is a 404)', async () => {
    const [alice, mallory] = [await registerUser(), await registerUser()];
    const device = await json<Device>(await call('/api/v1/devices', { token: alice.accessToken, body: { platform: 'android', token: fcmToken() } }));
    expect((await call(`/api/v1/devices/${device.id}`, { method: 'DELETE', token: mallory.accessToken })).status).toBe(404);
    expect(await devices(alice.accessToken)).toHaveLength(1);
    expect((await call(`/api/v1/devices/${device.id}`, { method: 'DELETE', token: alice.accessToken })).status).toBe(204);
    expect(await devices(alice.accessToken)).toEqual([]);
    expect((await call(`/api/v1/devices/${device.id}`, { method: 'DELETE', token: alice.accessToken })).status).toBe(404);
  });

  it('moves a token to the user who registers it last (a device changing hands)', async () => {
    const [alice, bob] = [await registerUser(), await registerUser()];
    const token = fcmToken();
    await call('/api/v1/devices', { token: alice.accessToken, body: { platform: 'web', token } });
    expect((await call('/api/v1/devices', { token: bob.accessToken, body: { platform: 'web', token } })).status).toBe(200);
    expect(await devices(alice.accessToken)).toEqual([]);
    expect(await devices(bob.accessToken)).toHaveLength(1);
  });

  it('validates platform, provider and token shape', async () => {
    const user = await registerUser();
    const cases = [
      { platform: 'ios', token: 'not-hex-at-all-but-long-enough-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' },
      { platform: 'android', provider: 'apns', token: apnsToken() },
      { platform: 'windows', token: fcmToken() },
      { platform: 'android', token: 'short' },
      { platform: 'android', token: `${fcmToken()} <script>` },
      { platform: 'android', token: fcmToken(), name: 'bad\nname' },
      { platform: 'android', token: fcmToken(), extra: true },
    ];
    for (const body of cases) {
      expect((await call('/api/v1/devices', { token: user.accessToken, body })).status, JSON.stringify(body)).toBe(400);
    }
    expect((await call('/api/v1/devices', { body: { platform: 'android', token: fcmToken() } })).status).toBe(401);
  });

  it(`keeps at most ${MAX_DEVICES_PER_USER} devices per user, forgetting the least recently seen`, async () => {
    const user = await registerUser();
    const first = await json<Device>(await call('/api/v1/devices', { token: user.accessToken, body: { platform: 'android', token: fcmToken() } }));
    await env.APP_DB.prepare('UPDATE devices SET last_seen_at = 1 WHERE public_id = ?1').bind(first.id).run();
    for (let i = 0; i < MAX_DEVICES_PER_USER; i += 1) {
      expect((await call('/api/v1/devices', { token: user.accessToken, body: { platform: 'android', token: fcmToken() } })).status).toBe(201);
    }
    const listed = await devices(user.accessToken);
    expect(listed).toHaveLength(MAX_DEVICES_PER_USER);
    expect(listed.map((d) => d.id)).not.toContain(first.id);
  });
});
