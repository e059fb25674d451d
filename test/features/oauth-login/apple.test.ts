import { decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { json, type TokenPair } from '../../helpers/api';
import { errorCode, me } from '../../helpers/users';
import { acceptedSecrets, apple, appleApprove, appleCall, appleSignIn, appleSub, APPLE_ENV, postCallback, startApple } from './apple.helpers';
import { exchange, REDIRECT_TO, uniqueEmail } from './oauth.helpers';

interface Profile {
  email: string;
  emailVerified: boolean;
  fullName: string | null;
}

async function exchangeFrom(back: URL): Promise<TokenPair> {
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.href}`);
  const res = await exchange(code);
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

describe('Sign in with Apple, browser flow (form_post) against a local Apple stand-in', () => {
  it('runs authorize → Apple → cross-site form POST → 303 → exchange, with the name from `user` and "true" as email_verified', async () => {
    const email = uniqueEmail();
    const flow = await startApple();
    const q = flow.location.searchParams;
    expect(`${flow.location.origin}${flow.location.pathname}`).toBe(`${apple.origin}/auth/authorize`);
    expect(q.get('response_mode')).toBe('form_post');
    expect(q.get('scope')).toBe('openid name email');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toMatch(/^[\w-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[\w-]{43}$/);
    // The binding cookie must come back on Apple's cross-site POST: SameSite=None, and so Secure.
    expect(flow.setCookie).toMatch(/^__Host-ubr_oauth=[\w-]{43}; /);
    expect(flow.setCookie).toMatch(/; HttpOnly; Secure; SameSite=None$/);

    const post = await appleApprove(flow, { sub: appleSub(), email, emailVerified: 'true', firstName: 'Ada', lastName: 'Lovelace' });
    expect(post.action.pathname).toBe('/api/v1/auth/oauth/apple/callback');
    const res = await postCallback(flow, post);
    expect(res.status).toBe(303);
    expect(res.headers.get('Set-Cookie')).toMatch(/^__Host-ubr_oauth=; Max-Age=0; /);
    const back = new URL(res.headers.get('Location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_TO);
    expect([...back.searchParams.keys()]).toEqual(['code']);

    const pair = await exchangeFrom(back);
    const profile = await json<Profile>(await me(pair.accessToken));
    expect(profile).toMatchObject({ email, emailVerified: true, fullName: 'Ada Lovelace' });
  });

  it('signs a private relay address in as verified, and the same subject again without `user` into the same account', async () => {
    const sub = appleSub();
    const relay = `${crypto.randomUUID().slice(0, 10)}@privaterelay.appleid.com`;
    const first = await exchangeFrom(await appleSignIn({ sub, email: relay, emailVerified: 'true', isPrivateEmail: 'true', firstName: 'Grace' }));
    expect(await json<Profile>(await me(first.accessToken))).toMatchObject({ email: relay, emailVerified: true, fullName: 'Grace' });
    const second = await exchangeFrom(await appleSignIn({ sub, email: relay, emailVerified: true, isPrivateEmail: true }));
    expect(second.user.id).toBe(first.user.id);
  });

  it('treats email_verified "false" as unverified, and a malformed `user` field as no name', async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, { sub: appleSub(), email: uniqueEmail(), emailVerified: 'false' });
    const res = await postCallback(flow, { ...post, fields: { ...post.fields, user: '{"name":' } });
    expect(res.status).toBe(303);
    const profile = await json<Profile>(await me((await exchangeFrom(new URL(res.headers.get('Location') ?? ''))).accessToken));
    expect(profile).toMatchObject({ emailVerified: false, fullName: null });
  });

  it('signs the client secret once per isolate: the token endpoint saw the same JWT on two sign-ins', async () => {
    await appleSignIn({ sub: appleSub(), email: uniqueEmail(), emailVerified: 'true' });
    await appleSignIn({ sub: appleSub(), email: uniqueEmail(), emailVerified: 'true' });
    const seen = await acceptedSecrets();
    const [a, b] = seen.slice(-2);
    expect(a).toBe(b);
    expect(decodeProtectedHeader(a ?? '')).toMatchObject({ alg: 'ES256', kid: apple.keyId });
    expect(decodeJwt(a ?? '')).toMatchObject({ iss: apple.teamId, sub: apple.clientId, aud: 'https://appleid.apple.com' });
  });

  it('answers access_denied on redirectTo when the user cancels at Apple', async () => {
    const flow = await startApple();
    const state = flow.location.searchParams.get('state') ?? '';
    const res = await postCallback(flow, { action: new URL(`http://x/api/v1/auth/oauth/apple/callback`), fields: { state, error: 'user_cancelled_authorize' } });
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('Location') ?? '');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('code')).toBeNull();
  });
});

describe('Sign in with Apple, attacks on the form_post callback', () => {
  const user = () => ({ sub: appleSub(), email: uniqueEmail(), emailVerified: 'true' as const });

  it('refuses a forged state and a replayed form post', async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, user());
    const forged = await postCallback(flow, { ...post, fields: { ...post.fields, state: 'forged-state-value' } });
    expect(forged.status).toBe(400);
    expect(await errorCode(forged)).toBe('OAUTH_INVALID_STATE');
    expect((await postCallback(flow, post)).status).toBe(303);
    const replay = await postCallback(flow, post);
    expect(replay.status).toBe(400);
    expect(await errorCode(replay)).toBe('OAUTH_INVALID_STATE');
  });

  it('refuses the post without the flow cookie, or with another browser’s (login CSRF)', async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, user());
    const other = await startApple();
    expect(await errorCode(await postCallback(flow, post, { cookie: other.cookie }))).toBe('OAUTH_INVALID_STATE');
    const fresh = await startApple();
    const res = await postCallback(fresh, await appleApprove(fresh, user()), { cookie: '' });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('OAUTH_INVALID_STATE');
  });

  it("refuses a form posted from another site's origin, before spending the state; a null or absent Origin passes", async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, user());
    const evil = await postCallback(flow, post, { origin: 'https://evil.example' });
    expect(evil.status).toBe(400);
    expect(await errorCode(evil)).toBe('OAUTH_INVALID_STATE');
    expect((await postCallback(flow, post, { origin: 'null' })).status).toBe(303);
    const other = await startApple();
    expect((await postCallback(other, await appleApprove(other, user()), { origin: null })).status).toBe(303);
  });

  it('refuses the response in the query (mode downgrade) without spending the state, and a post to a query-mode provider', async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, user());
    const viaGet = await appleCall(`${post.action.pathname}?${new URLSearchParams(post.fields).toString()}`, { ip: flow.ip, headers: { Cookie: flow.cookie } });
    expect(viaGet.status).toBe(400);
    expect(await errorCode(viaGet)).toBe('OAUTH_INVALID_STATE');
    expect((await postCallback(flow, post)).status).toBe(303);
    const toTest = await postCallback(flow, post, { path: '/api/v1/auth/oauth/test/callback' });
    expect(toTest.status).toBe(400);
    expect(await errorCode(toTest)).toBe('OAUTH_INVALID_STATE');
  });

  it('refuses a repeated parameter and a body that is not a form', async () => {
    const flow = await startApple();
    const post = await appleApprove(flow, user());
    const doubled = `${new URLSearchParams(post.fields).toString()}&state=other`;
    expect(await errorCode(await postCallback(flow, post, { fields: doubled }))).toBe('OAUTH_INVALID_STATE');
    const asJson = await appleCall(post.action.pathname, { body: post.fields, ip: flow.ip, headers: { Cookie: flow.cookie, Origin: apple.origin } });
    expect(asJson.status).toBe(400);
    expect(await errorCode(asJson)).toBe('VALIDATION_ERROR');
    // Neither spent the state.
    expect((await postCallback(flow, post)).status).toBe(303);
  });

  it('refuses a code injected from another flow: the PKCE verifier of this flow does not match it', async () => {
    const victim = await startApple();
    const victimPost = await appleApprove(victim, user());
    const attacker = await startApple();
    const attackerPost = await appleApprove(attacker, user());
    const res = await postCallback(victim, { ...victimPost, fields: { ...victimPost.fields, code: attackerPost.fields.code ?? '' } });
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('Location') ?? '');
    expect(back.searchParams.get('error')).toBe('provider_error');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses an id_token carrying another nonce', async () => {
    const back = await appleSignIn({ ...user(), nonce: 'nonce-of-another-flow-0123456789' });
    expect(back.searchParams.get('error')).toBe('provider_error');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('fails closed when the client secret is signed with another key, for another team, or with an unusable key', async () => {
    const pem = await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey);
    for (const override of [{ OIDC_APPLE_PRIVATE_KEY: pem }, { OIDC_APPLE_TEAM_ID: 'OTHERTEAM1' }, { OIDC_APPLE_PRIVATE_KEY: 'not a key' }]) {
      const back = await appleSignIn(user(), { ...APPLE_ENV, ...override } as Partial<CloudflareBindings>);
      expect(back.searchParams.get('error'), JSON.stringify(Object.keys(override))).toBe('provider_error');
      expect(back.searchParams.get('code')).toBeNull();
    }
  });

  it('keeps Apple native-only (404 on authorize) while its signing key is not configured', async () => {
    const env = { ...APPLE_ENV, OIDC_APPLE_PRIVATE_KEY: '' } as Partial<CloudflareBindings>;
    const res = await appleCall(`/api/v1/auth/oauth/apple/authorize?redirectTo=${encodeURIComponent(REDIRECT_TO)}`, {}, env);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('OAUTH_UNKNOWN_PROVIDER');
  });
});
