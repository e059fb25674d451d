import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';
import { codeFlow, createClient, REDIRECT, token } from './oauth-helpers';

describe('OAuth client registry (/api/v1/oauth/clients)', () => {
  it('registers a confidential client with a secret shown once and stored only as a hash', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    expect(client.clientSecret).toMatch(/^ubroc_[A-Za-z0-9_-]{43}$/);
    const row = await env.AUTH_DB.prepare('SELECT secret_hash FROM oauth_clients WHERE public_id = ?').bind(client.id).first<{ secret_hash: string }>();
    expect(row!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.secret_hash).not.toContain(client.clientSecret!);
    const listed = await json<{ data: Record<string, unknown>[] }>(await call('/api/v1/oauth/clients', { token: admin.accessToken }));
    const mine = listed.data.find((c) => c.id === client.id)!;
    expect(mine).not.toHaveProperty('clientSecret');
    expect(JSON.stringify(listed)).not.toContain(row!.secret_hash);
  });

  it('registers a public client without a secret; it cannot rotate one', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken, { type: 'public' });
    expect(client.clientSecret).toBeUndefined();
    const res = await call(`/api/v1/oauth/clients/${client.id}/rotate-secret`, { method: 'POST', token: admin.accessToken });
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe('OAUTH_CLIENT_PUBLIC');
  });

  it('rotates a secret: the old one stops at once', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const { tokens } = await codeFlow(client, await registerUser());
    const rotated = await json<{ clientSecret: string }>(await call(`/api/v1/oauth/clients/${client.id}/rotate-secret`, { method: 'POST', token: admin.accessToken }));
    const old = await token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    expect(old.status).toBe(401);
    expect((await token({ ...client, clientSecret: rotated.clientSecret }, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })).status).toBe(200);
  });

  it('refuses redirect URIs that are not https, loopback http or a private-use scheme, and unknown scopes', async () => {
    const admin = await registerAdmin();
    for (const redirectUris of [['http://app.example.org/cb'], ['https://app.example.org/cb#frag'], ['javascript:alert(1)'], ['not a url']]) {
      const res = await call('/api/v1/oauth/clients', { token: admin.accessToken, body: { name: 'x', type: 'public', redirectUris, scopes: ['openid'] } });
      expect(res.status, redirectUris[0]).toBe(400);
    }
    const ok = await call('/api/v1/oauth/clients', { token: admin.accessToken, body: { name: 'x', type: 'public', redirectUris: ['http://127.0.0.1:5173/cb', 'com.example.app:/oauth', REDIRECT], scopes: ['openid'] } });
    expect(ok.status).toBe(201);
    const bad = await call('/api/v1/oauth/clients', { token: admin.accessToken, body: { name: 'x', type: 'public', redirectUris: [REDIRECT], scopes: ['root:all'] } });
    expect(bad.status).toBe(400);
  });

  it('is for holders of oauth:write / oauth:read only', async () => {
    const user = await registerUser();
    expect((await call('/api/v1/oauth/clients', { token: user.accessToken })).status).toBe(403);
    expect((await call('/api/v1/oauth/clients', { token: user.accessToken, body: { name: 'x', type: 'public', redirectUris: [REDIRECT], scopes: ['openid'] } })).status).toBe(403);
  });
});
