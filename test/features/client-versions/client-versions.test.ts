import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../../src/features/client-versions/client-versions.schemas';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';

const client = (platform: string, version: string) => ({ 'X-Client-Platform': platform, 'X-Client-Version': version });

describe('client version policy', () => {
  it('compares versions numerically, part by part', () => {
    expect(compareVersions('2.10.0', '2.9.9')).toBe(1);
    expect(compareVersions('2.1', '2.1.0')).toBe(0);
    expect(compareVersions('1.0.0', '1.0.1')).toBe(-1);
  });

  it('answers 426 below the minimum, a soft hint below the latest, nothing when current', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const platform = `ios-${crypto.randomUUID().slice(0, 6)}`;
    const put = await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '2.0.0', latestVersion: '2.5.0', updateUrl: 'https://apps.example.com/app' } });
    expect(put.status).toBe(200);

    const old = await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '1.9.9') });
    expect(old.status).toBe(426);
    expect(await errorCode(old)).toBe('UPGRADE_REQUIRED');
    expect(old.headers.get('X-Client-Update')).toBe('hard');

    const behind = await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '2.4') });
    expect(behind.status).toBe(200);
    expect(behind.headers.get('X-Client-Update')).toBe('soft');
    expect(behind.headers.get('X-Client-Update-Url')).toBe('https://apps.example.com/app');

    const current = await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '2.5.0') });
    expect(current.status).toBe(200);
    expect(current.headers.get('X-Client-Update')).toBeNull();

    // An outdated client can still learn the policy and reach health.
    const policies = await call('/api/v1/client-versions', { headers: client(platform, '1.0') });
    expect(policies.status).toBe(200);
    expect((await json<{ data: { platform: string }[] }>(policies)).data.map((p) => p.platform)).toContain(platform);
  });

  it('ignores requests without the headers and platforms without a policy', async () => {
    expect((await call('/api/v1/health')).status).toBe(200);
    expect((await call('/api/v1/health', { headers: client('unknownos', '0.0.1') })).status).toBe(200);
  });

  it('refuses malformed client headers with 400', async () => {
    for (const headers of [client('ios', 'latest'), client('iOS phone', '1.0'), { 'X-Client-Version': '1.0' }, client('ios', '1.2.3.4.5')]) {
      const res = await call('/api/v1/health', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(400);
    }
  });

  it('is managed by admins only, with validated bodies, and takes effect at once', async () => {
    const admin = await registerAdmin();
    const u = await registerUser();
    const platform = `android-${crypto.randomUUID().slice(0, 6)}`;
    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: u.accessToken, body: { minVersion: '1.0', latestVersion: '1.0' } })).status).toBe(403);
    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', body: { minVersion: '1.0', latestVersion: '1.0' } })).status).toBe(401);
    const bad = await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '3.0', latestVersion: '2.0', updateUrl: 'javascript:alert(1)' } });
    expect(bad.status).toBe(400);
    expect((await json<{ error: { details: { field: string }[] } }>(bad)).error.details.map((d) => d.field)).toEqual(expect.arrayContaining(['minVersion', 'updateUrl']));
    await call(`/api/v1/client-versions/${platform}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '1.0', latestVersion: '1.0' } });
    expect((await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '0.9') })).status).toBe(426);
    expect(await env.CACHE.get(`client-version:${platform}`)).toContain('"minVersion":"1.0"');
    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '0.9') })).status).toBe(200);
  });
});
