import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getConfig } from '../../../src/lib/config';
import { call, freshIp, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';
import { basic, codeFlow, createClient, type TestClient } from './oauth-helpers';

const LIMIT = getConfig(env).rateLimits.auth.limit;

function post(path: string, fields: Record<string, string>, ip: string, headers: Record<string, string> = {}) {
  return call(path, { method: 'POST', rawBody: new URLSearchParams(fields).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, ip });
}

const wrongSecret = (client: TestClient) => basic({ ...client, clientSecret: 'not-the-secret' });

describe('OAuth provider endpoints on the auth tier: failures count per IP, successes give their slot back', () => {
  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    it(`answers 429 on ${path} after ${LIMIT} failed client authentications from one IP, even to the right secret`, async () => {
      const admin = await registerAdmin();
      const client = await createClient(admin.accessToken);
      const ip = freshIp();
      const fields: Record<string, string> = path === '/oauth/token' ? { grant_type: 'refresh_token', refresh_token: 'x' } : { token: 'x' };
      for (let i = 0; i < LIMIT; i += 1) {
        const res = await post(path, fields, ip, wrongSecret(client));
        expect(res.status, `attempt ${i + 1}`).toBe(401);
      }
      const blocked = await post(path, fields, ip, basic(client));
      expect(blocked.status).toBe(429);
      expect(await errorCode(blocked)).toBe('RATE_LIMITED');
      expect(Number(blocked.headers.get('Retry-After'))).toBeGreaterThan(0);
      // Another IP is not affected.
      expect((await post(path, fields, freshIp(), wrongSecret(client))).status).toBe(401);
    });
  }

  it('does not limit a working resource server: more successful introspections than the limit from one IP', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { tokens } = await codeFlow(client, user);
    const ip = freshIp();
    for (let i = 0; i < LIMIT + 3; i += 1) {
      const res = await post('/oauth/introspect', { token: tokens.access_token as string }, ip, basic(client));
      expect(res.status, `introspection ${i + 1}`).toBe(200);
    }
  });

  it('counts invalid grants (guessed codes and refresh tokens) from an authenticated client', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const ip = freshIp();
    for (let i = 0; i < LIMIT; i += 1) {
      const res = await post('/oauth/token', { grant_type: 'authorization_code', code: `guess-${i}`, redirect_uri: 'https://app.example.org/callback', code_verifier: 'v'.repeat(43) }, ip, basic(client));
      expect(res.status).toBe(400);
    }
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'guess' }, ip, basic(client))).status).toBe(429);
  });
});
