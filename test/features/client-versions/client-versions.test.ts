import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../../src/features/client-versions/client-versions.schemas';
import { forgetLocalPolicies, KV_KEY, MAX_PLATFORMS } from '../../../src/features/client-versions/client-versions.service';
import { call, json, registerUser } from '../../helpers/api';
import { callWithEnv } from '../../helpers/tokens';
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
    expect(await env.CACHE.get(KV_KEY)).toContain(`"platform":"${platform}","minVersion":"1.0"`);
    expect((await call(`/api/v1/client-versions/${platform}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/api/v1/users/me', { token: u.accessToken, headers: client(platform, '0.9') })).status).toBe(200);
  });

  it('answers unknown platforms from memory: 200 made-up names cost one KV read at most and no D1 read', async () => {
    const reads = { kv: 0, d1: 0 };
    const kv = new Proxy(env.CACHE, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (prop === 'get' || prop === 'getWithMetadata') reads.kv += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const db = new Proxy(env.APP_DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          // withSession: /api reads go through a D1 session (read replicas), opened on first use.
          if (prop === 'prepare' || prop === 'batch' || prop === 'exec' || prop === 'withSession') reads.d1 += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    // The list is in KV (any admin write publishes it); this isolate has forgotten its copy.
    await call(`/api/v1/client-versions/web-${crypto.randomUUID().slice(0, 6)}`, { method: 'PUT', token: (await registerAdmin()).accessToken, body: { minVersion: '1.0', latestVersion: '1.0' } });
    forgetLocalPolicies();
    const names = Array.from({ length: 200 }, () => `x${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`);
    const responses = await Promise.all(names.map((p) => callWithEnv({ CACHE: kv, APP_DB: db }, '/api/v1/users/me', { headers: client(p, '1.0.0') })));
    expect(responses.every((r) => r.status === 401)).toBe(true);
    expect(reads).toEqual({ kv: 1, d1: 0 });

    // A cold KV costs one D1 read for the whole list, then nothing more.
    await env.CACHE.delete(KV_KEY);
    forgetLocalPolicies();
    reads.kv = 0;
    for (const p of names.slice(0, 50)) await callWithEnv({ CACHE: kv, APP_DB: db }, '/api/v1/users/me', { headers: client(p, '1.0.0') });
    expect(reads).toEqual({ kv: 1, d1: 1 });
  });

  it('caps the number of platforms with a policy, so the cached list stays bounded', async () => {
    const admin = await registerAdmin();
    const existing = await json<{ data: unknown[] }>(await call('/api/v1/client-versions'));
    const prefix = `cap${crypto.randomUUID().slice(0, 4)}`;
    for (let i = existing.data.length; i < MAX_PLATFORMS; i++) {
      await env.APP_DB.prepare('INSERT INTO client_versions (public_id, created_at, updated_at, platform, min_version, latest_version) VALUES (?1, 0, 0, ?2, ?3, ?3)').bind(crypto.randomUUID(), `${prefix}-${i}`, '1.0').run();
    }
    const refused = await call(`/api/v1/client-versions/${prefix}-new`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '1.0', latestVersion: '1.0' } });
    expect(refused.status).toBe(422);
    expect(await errorCode(refused)).toBe('BUSINESS_RULE');
    // An existing platform can still be changed.
    const changed = await call(`/api/v1/client-versions/${prefix}-${MAX_PLATFORMS - 1}`, { method: 'PUT', token: admin.accessToken, body: { minVersion: '1.0', latestVersion: '2.0' } });
    expect(changed.status).toBe(200);
    await env.APP_DB.prepare("DELETE FROM client_versions WHERE platform LIKE ?1").bind(`${prefix}-%`).run();
  });
});
