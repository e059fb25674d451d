import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, json, registerUser } from '../../helpers/api';
import { registerAdmin } from '../../helpers/users';
import { authorizeUrl, basic, codeFlow, consent, createClient, form, introspect, pkce, raw, REDIRECT, ticketOf, token } from './oauth-helpers';

type Tokens = { access_token: string; refresh_token: string; scope: string; id_token?: string };

describe('OAuth provider: attacks', () => {
  it('refuses a replayed code and revokes what the code issued', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { code, verifier, tokens } = await codeFlow(client, user);
    const replay = await token(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(replay.status).toBe(400);
    expect(await json(replay)).toMatchObject({ error: 'invalid_grant' });
    expect(await json(await introspect(client, tokens.access_token as string))).toEqual({ active: false });
    const refreshed = await token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    expect(refreshed.status).toBe(400);
  });

  it('refuses a wrong PKCE verifier, and a plain or missing challenge at the authorization endpoint', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { challenge } = await pkce();
    const base = { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'openid', state: 'xyz' };
    const downgrades: Record<string, string>[] = [{ code_challenge: challenge, code_challenge_method: 'plain' }, { code_challenge: challenge }, {}];
    for (const extra of downgrades) {
      const res = await raw(authorizeUrl({ ...base, ...extra }));
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.get('Location')!);
      expect(loc.origin + loc.pathname).toBe(REDIRECT);
      expect(loc.searchParams.get('error')).toBe('invalid_request');
      expect(loc.searchParams.get('state')).toBe('xyz');
    }
    const redirect = await consent(authorizeUrl({ ...base, code_challenge: challenge, code_challenge_method: 'S256' }), user);
    const other = await pkce();
    const res = await token(client, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: other.verifier });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ error: 'invalid_grant' });
  });

  it('never redirects to an unregistered redirect_uri, and refuses a code exchanged with another one', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken, { redirectUris: [REDIRECT, 'https://app.example.org/other'] });
    const user = await registerUser();
    const { challenge, verifier } = await pkce();
    const base = { response_type: 'code', client_id: client.id, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' };
    for (const uri of ['https://evil.example/cb', `${REDIRECT}/`, `${REDIRECT}?x=1`, 'https://APP.example.org/callback']) {
      const res = await raw(authorizeUrl({ ...base, redirect_uri: uri }));
      expect(res.status).toBe(400);
      expect(res.headers.get('Location')).toBeNull();
      expect(res.headers.get('Content-Type')).toContain('text/html');
    }
    const redirect = await consent(authorizeUrl({ ...base, redirect_uri: REDIRECT }), user);
    const res = await token(client, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: 'https://app.example.org/other', code_verifier: verifier });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ error: 'invalid_grant' });
  });

  it("refuses another client's code and does not burn it for its owner", async () => {
    const admin = await registerAdmin();
    const owner = await createClient(admin.accessToken);
    const thief = await createClient(admin.accessToken);
    const user = await registerUser();
    const { challenge, verifier } = await pkce();
    const redirect = await consent(authorizeUrl({ response_type: 'code', client_id: owner.id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }), user);
    const code = redirect.searchParams.get('code')!;
    const stolen = await token(thief, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(stolen.status).toBe(400);
    expect(await json(stolen)).toMatchObject({ error: 'invalid_grant' });
    const wrongSecret = await token({ ...owner, clientSecret: 'ubroc_wrong' }, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(wrongSecret.status).toBe(401);
    expect(await json(wrongSecret)).toMatchObject({ error: 'invalid_client' });
    expect((await token(owner, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier })).status).toBe(200);
  });

  it('lets exactly one of parallel exchanges of a code win, and the losers revoke what it issued', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { challenge, verifier } = await pkce();
    const redirect = await consent(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }), user);
    const fields = { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier };
    const results = await Promise.all([1, 2, 3].map(() => token(client, fields)));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(2);
    const issued = await json<Tokens>(won[0]!);
    expect(await json(await introspect(client, issued.access_token))).toEqual({ active: false });
  });

  it('refuses a code past its 60 seconds', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const { challenge, verifier } = await pkce();
    const redirect = await consent(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }), await registerUser());
    const row = await env.AUTH_DB.prepare('SELECT expires_at - created_at AS ttl FROM oauth_codes ORDER BY id DESC LIMIT 1').first<{ ttl: number }>();
    expect(row!.ttl).toBeGreaterThan(59_000);
    expect(row!.ttl).toBeLessThanOrEqual(60_000);
    await env.AUTH_DB.prepare('UPDATE oauth_codes SET expires_at = ?1 WHERE id = (SELECT max(id) FROM oauth_codes)').bind(Date.now() - 1).run();
    const res = await token(client, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(await json(res)).toMatchObject({ error: 'invalid_grant' });
  });

  it('grants only the permission scopes the user holds, and narrows them again when a role is lost', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const plain = await registerUser();
    const { tokens } = await codeFlow(client, plain, 'openid users:read');
    expect(tokens.scope).toBe('openid');
    const asAdmin = (await codeFlow(client, admin, 'openid users:read')).tokens as Tokens;
    expect(asAdmin.scope).toBe('openid users:read');
    expect(await json(await introspect(client, asAdmin.access_token))).toMatchObject({ active: true, scope: 'openid users:read' });
    await env.AUTH_DB.prepare("DELETE FROM user_roles WHERE user_id = (SELECT id FROM users WHERE public_id = ?) AND role_id = (SELECT id FROM roles WHERE name = 'admin')").bind(admin.user.id).run();
    expect(await json(await introspect(client, asAdmin.access_token))).toMatchObject({ active: true, scope: 'openid' });
    const refreshed = await json<Tokens>(await token(client, { grant_type: 'refresh_token', refresh_token: asAdmin.refresh_token }));
    expect(refreshed.scope).toBe('openid');
  });

  it('refuses a scope the client is not registered for', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken, { scopes: ['openid'] });
    const { challenge } = await pkce();
    const res = await raw(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'openid users:delete', code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(new URL(res.headers.get('Location')!).searchParams.get('error')).toBe('invalid_scope');
  });

  it('revokes the whole family when a spent refresh token is presented again', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const { tokens } = await codeFlow(client, await registerUser());
    const first = await json<Tokens>(await token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }));
    const reuse = await token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    expect(reuse.status).toBe(400);
    expect(await json(reuse)).toMatchObject({ error: 'invalid_grant' });
    expect((await token(client, { grant_type: 'refresh_token', refresh_token: first.refresh_token })).status).toBe(400);
    expect(await json(await introspect(client, first.access_token))).toEqual({ active: false });
  });

  it("stops a revoked app's tokens at once (grant revoked by the user, client deleted by an admin)", async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { tokens } = await codeFlow(client, user);
    const grants = await json<{ data: { id: string; client: { id: string } }[] }>(await call('/api/v1/oauth/grants', { token: user.accessToken }));
    expect(grants.data.map((g) => g.client.id)).toEqual([client.id]);
    const other = await registerUser();
    expect((await call(`/api/v1/oauth/grants/${grants.data[0]!.id}`, { method: 'DELETE', token: other.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/oauth/grants/${grants.data[0]!.id}`, { method: 'DELETE', token: user.accessToken })).status).toBe(204);
    expect(await json(await introspect(client, tokens.access_token as string))).toEqual({ active: false });
    const userinfo = await call('/oauth/userinfo', { token: tokens.access_token as string });
    expect(userinfo.status).toBe(401);
    expect((await token(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })).status).toBe(400);
    expect((await json<{ data: unknown[] }>(await call('/api/v1/oauth/grants', { token: user.accessToken }))).data).toEqual([]);

    const second = (await codeFlow(client, user)).tokens as Tokens;
    expect((await call(`/api/v1/oauth/clients/${client.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    expect((await call('/oauth/userinfo', { token: second.access_token })).status).toBe(401);
  });

  it('refuses introspection by an unauthenticated caller or a public client', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const { tokens } = await codeFlow(client, await registerUser());
    const anon = await call('/oauth/introspect', { method: 'POST', rawBody: `token=${tokens.access_token as string}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(anon.status).toBe(401);
    expect(await json(anon)).toMatchObject({ error: 'invalid_client' });
    const pub = await createClient(admin.accessToken, { type: 'public' });
    const byPublic = await call('/oauth/introspect', { method: 'POST', rawBody: new URLSearchParams({ token: tokens.access_token as string, client_id: pub.id }).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(byPublic.status).toBe(401);
  });

  it('does not accept an OAuth access token as an API session token, nor a session token at userinfo', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { tokens } = await codeFlow(client, user);
    expect((await call('/api/v1/users/me', { token: tokens.access_token as string })).status).toBe(401);
    expect((await call('/oauth/userinfo', { token: user.accessToken })).status).toBe(401);
  });

  it('refuses an altered consent form, and a wrong password issues no code', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    const user = await registerUser();
    const { challenge } = await pkce();
    const page = await raw(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(page.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    const ticket = ticketOf(await page.text());
    const tampered = `${ticket.slice(0, -3)}${ticket.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expect((await raw('/oauth/authorize', form({ request: tampered, email: user.email, password: user.password, decision: 'allow' }))).status).toBe(400);
    const wrong = await raw('/oauth/authorize', form({ request: ticket, email: user.email, password: 'not the password', decision: 'allow' }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('Location')).toBeNull();
    const denied = await raw('/oauth/authorize', form({ request: ticket, decision: 'deny' }));
    expect(new URL(denied.headers.get('Location')!).searchParams.get('error')).toBe('access_denied');
  });

  it('answers RFC 6749 errors at the token endpoint', async () => {
    const admin = await registerAdmin();
    const client = await createClient(admin.accessToken);
    expect(await json(await token(client, { grant_type: 'password', username: 'a', password: 'b' }))).toMatchObject({ error: 'unsupported_grant_type' });
    const dup = await call('/oauth/token', { method: 'POST', rawBody: 'grant_type=refresh_token&grant_type=refresh_token', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...basic(client) } });
    expect(await json(dup)).toMatchObject({ error: 'invalid_request' });
    const asJson = await call('/oauth/token', { body: { grant_type: 'authorization_code' } });
    expect(asJson.status).toBe(400);
    expect(await json(asJson)).toMatchObject({ error: 'invalid_request' });
  });
});
