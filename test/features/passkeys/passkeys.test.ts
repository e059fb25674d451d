import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode, me } from '../../helpers/users';
import { SoftAuthenticator, type Alg, type Ceremony } from '../../helpers/webauthn';

type Options = { challengeId: string; options: { challenge: string; user: { id: string }; rp: { id: string }; excludeCredentials: { id: string }[] } };
type LoginOptions = { challengeId: string; options: { challenge: string; rpId: string; allowCredentials: unknown[] } };

async function registerOptions(token: string): Promise<Options> {
  const res = await call('/api/v1/auth/passkeys/register/options', { method: 'POST', token });
  expect(res.status).toBe(200);
  return json<Options>(res);
}

async function enrol(token: string, auth: SoftAuthenticator, c: Ceremony = {}, name?: string) {
  const opts = await registerOptions(token);
  const credential = await auth.create(opts.options, c);
  return call('/api/v1/auth/passkeys/register/verify', { body: { challengeId: opts.challengeId, credential, ...(name ? { name } : {}) }, token, ip: freshIp() });
}

async function loginOptions(): Promise<LoginOptions> {
  const res = await call('/api/v1/auth/passkeys/login/options', { method: 'POST', ip: freshIp() });
  expect(res.status).toBe(200);
  return json<LoginOptions>(res);
}

async function signIn(auth: SoftAuthenticator, c: Ceremony = {}, opts?: LoginOptions) {
  const o = opts ?? (await loginOptions());
  return call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: o.challengeId, credential: await auth.get(o.options, c) }, ip: freshIp() });
}

describe.each<Alg>(['ES256', 'EdDSA'])('passkeys with %s', (alg) => {
  it('registers for the signed-in user, then signs in with the passkey as the only factor', async () => {
    const u = await registerUser();
    const auth = new SoftAuthenticator(alg);
    const opts = await registerOptions(u.accessToken);
    expect(opts.options.rp.id).toBe('localhost');
    const res = await enrol(u.accessToken, auth, {}, 'Laptop');
    expect(res.status).toBe(201);
    const pk = await json<{ id: string; name: string }>(res);
    expect(pk.name).toBe('Laptop');
    const login = await signIn(auth);
    expect(login.status).toBe(200);
    const pair = await json<{ user: { id: string }; accessToken: string }>(login);
    expect(pair.user.id).toBe(u.user.id);
    expect((await me(pair.accessToken)).status).toBe(200);
    const list = await json<{ data: { id: string }[] }>(await call('/api/v1/auth/passkeys', { token: u.accessToken }));
    expect(list.data.map((p) => p.id)).toEqual([pk.id]);
  });
});

describe('passkey attacks', () => {
  it('refuses a replayed challenge, for registration and for sign-in', async () => {
    const u = await registerUser();
    const auth = new SoftAuthenticator();
    const opts = await registerOptions(u.accessToken);
    const credential = await auth.create(opts.options);
    const body = { challengeId: opts.challengeId, credential };
    expect((await call('/api/v1/auth/passkeys/register/verify', { body, token: u.accessToken, ip: freshIp() })).status).toBe(201);
    const again = await call('/api/v1/auth/passkeys/register/verify', { body, token: u.accessToken, ip: freshIp() });
    expect(again.status).toBe(400);
    expect(await errorCode(again)).toBe('PASSKEY_REJECTED');

    const lo = await loginOptions();
    const assertion = await auth.get(lo.options);
    expect((await call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: lo.challengeId, credential: assertion }, ip: freshIp() })).status).toBe(200);
    const replay = await call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: lo.challengeId, credential: assertion }, ip: freshIp() });
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe('PASSKEY_REJECTED');
  });

  it('refuses an expired challenge and a challenge of the other ceremony', async () => {
    const u = await registerUser();
    const auth = new SoftAuthenticator();
    expect((await enrol(u.accessToken, auth)).status).toBe(201);
    const lo = await loginOptions();
    await env.AUTH_DB.prepare('UPDATE webauthn_challenges SET expires_at = 1 WHERE public_id = ?').bind(lo.challengeId).run();
    expect((await signIn(auth, {}, lo)).status).toBe(401);
    // A registration challenge cannot finish a sign-in.
    const ro = await registerOptions(u.accessToken);
    const cross = await call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: ro.challengeId, credential: await auth.get(ro.options) }, ip: freshIp() });
    expect(cross.status).toBe(401);
  });

  it('refuses a wrong origin, a wrong rpId, another challenge and a missing user verification', async () => {
    const u = await registerUser();
    for (const c of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { challenge: 'AAAA' }, { flags: 0x41 }] satisfies Ceremony[]) {
      const res = await enrol(u.accessToken, new SoftAuthenticator(), c);
      expect(res.status, JSON.stringify(c)).toBe(400);
      expect(await errorCode(res)).toBe('PASSKEY_REJECTED');
    }
    // Register verify is auth-tier per account (5 per window): the good enrolment is another user's.
    const v = await registerUser();
    const auth = new SoftAuthenticator();
    expect((await enrol(v.accessToken, auth)).status).toBe(201);
    for (const c of [{ origin: 'http://localhost:9999' }, { rpId: 'example.com' }, { flags: 0x01 }, { type: 'webauthn.create' }] satisfies Ceremony[]) {
      expect((await signIn(auth, c)).status, JSON.stringify(c)).toBe(401);
    }
    // The authenticator still works after the refusals (a refused attempt never moved the counter).
    expect((await signIn(auth)).status).toBe(200);
  });

  it('refuses a signature counter regression (a cloned authenticator)', async () => {
    const u = await registerUser();
    const auth = new SoftAuthenticator();
    expect((await enrol(u.accessToken, auth)).status).toBe(201);
    expect((await signIn(auth, { counter: 10 })).status).toBe(200);
    expect((await signIn(auth, { counter: 10 })).status).toBe(401);
    expect((await signIn(auth, { counter: 3 })).status).toBe(401);
    expect((await signIn(auth, { counter: 11 })).status).toBe(200);
  });

  it('refuses an unknown credential, a forged signature and a user handle of another account', async () => {
    const u = await registerUser();
    const other = await registerUser();
    const auth = new SoftAuthenticator();
    expect((await enrol(u.accessToken, auth)).status).toBe(201);
    // A credential the server never registered (the authenticator made it for nobody here).
    const stranger = new SoftAuthenticator();
    await stranger.create({ challenge: 'x', user: { id: 'x' } });
    expect((await signIn(stranger)).status).toBe(401);
    const lo = await loginOptions();
    const assertion = await auth.get(lo.options);
    const sig = assertion.response.signature;
    const forged = { ...assertion, response: { ...assertion.response, signature: sig.slice(0, -4) + (sig.endsWith('AAAA') ? 'BBBB' : 'AAAA') } };
    expect((await call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: lo.challengeId, credential: forged }, ip: freshIp() })).status).toBe(401);
    auth.userHandle = btoa(other.user.id).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    expect((await signIn(auth)).status).toBe(401);
  });

  it('will not register one credential twice, and lists it in excludeCredentials', async () => {
    const u = await registerUser();
    const auth = new SoftAuthenticator();
    expect((await enrol(u.accessToken, auth)).status).toBe(201);
    const opts = await registerOptions(u.accessToken);
    expect(opts.options.excludeCredentials.map((c) => c.id)).toEqual([auth.id]);
    // Same credential id presented again (another key behind it): the unique credential id refuses.
    const dup = await call('/api/v1/auth/passkeys/register/verify', { body: { challengeId: opts.challengeId, credential: await auth.create(opts.options) }, token: u.accessToken, ip: freshIp() });
    expect(dup.status).toBe(409);
    expect(await errorCode(dup)).toBe('PASSKEY_EXISTS');
  });

  it("renames and deletes only the caller's own passkeys; a deleted one stops signing in", async () => {
    const u = await registerUser();
    const other = await registerUser();
    const auth = new SoftAuthenticator();
    const pk = await json<{ id: string }>(await enrol(u.accessToken, auth));
    expect((await call(`/api/v1/auth/passkeys/${pk.id}`, { method: 'PATCH', body: { name: 'x' }, token: other.accessToken })).status).toBe(404);
    expect((await call(`/api/v1/auth/passkeys/${pk.id}`, { method: 'DELETE', token: other.accessToken })).status).toBe(404);
    const renamed = await call(`/api/v1/auth/passkeys/${pk.id}`, { method: 'PATCH', body: { name: 'Phone' }, token: u.accessToken });
    expect((await json<{ name: string }>(renamed)).name).toBe('Phone');
    expect((await call(`/api/v1/auth/passkeys/${pk.id}`, { method: 'DELETE', token: u.accessToken })).status).toBe(204);
    expect((await signIn(auth)).status).toBe(401);
    expect((await json<{ data: unknown[] }>(await call('/api/v1/auth/passkeys', { token: u.accessToken }))).data).toEqual([]);
  });

  it('gives discoverable-credential login options without any account hint', async () => {
    const lo = await loginOptions();
    expect(lo.options.allowCredentials).toEqual([]);
    expect(lo.options.rpId).toBe('localhost');
    expect((await call('/api/v1/auth/passkeys/register/options', { method: 'POST' })).status).toBe(401);
  });
});
