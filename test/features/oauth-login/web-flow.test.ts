import { describe, expect, it } from 'vitest';
import { freshIp, json, type TokenPair } from '../../helpers/api';
import { errorCode, me } from '../../helpers/users';
import { registerUser } from '../../helpers/api';
import { callback, exchange, markEmailVerified, oauthCall, providerLogin, REDIRECT_TO, signInPair, startFlow, uniqueEmail, uniqueSub, webSignIn } from './oauth.helpers';

describe('social sign-in, browser flow against a real OIDC provider', () => {
  it('runs authorize → provider login and consent → callback → exchange → /users/me', async () => {
    const email = uniqueEmail();
    const flow = await startFlow();
    // The authorization request: code flow, PKCE S256, state and nonce.
    expect(flow.location.searchParams.get('response_type')).toBe('code');
    expect(flow.location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(flow.location.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(flow.location.searchParams.get('state')).toBeTruthy();
    expect(flow.location.searchParams.get('nonce')).toBeTruthy();
    expect(flow.setCookie).toMatch(/^__Host-ubr_oauth=/);
    expect(flow.setCookie).toMatch(/HttpOnly/);
    expect(flow.setCookie).toMatch(/Secure/);
    expect(flow.setCookie).toMatch(/SameSite=Lax/);

    const res = await callback(flow, await providerLogin(flow, `${uniqueSub()}|${email}|verified`));
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('Location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_TO);
    // Only a one-time code rides in the URL, never a token.
    expect([...back.searchParams.keys()]).toEqual(['code']);
    expect(back.href).not.toMatch(/eyJ/);

    const exchanged = await exchange(back.searchParams.get('code') ?? '');
    expect(exchanged.status).toBe(200);
    const pair = await json<TokenPair>(exchanged);
    const profile = await json<{ email: string; emailVerified: boolean }>(await me(pair.accessToken));
    expect(profile.email).toBe(email);
    expect(profile.emailVerified).toBe(true);
  });

  it('signs the same provider subject in to the same account, whatever its email says now', async () => {
    const sub = uniqueSub();
    const first = await signInPair(`${sub}|${uniqueEmail()}|verified`);
    const second = await signInPair(`${sub}|${uniqueEmail()}|verified`);
    expect(second.user.id).toBe(first.user.id);
  });

  it('refuses a redirectTo off the allowlist (open redirect)', async () => {
    for (const target of ['https://evil.test/auth/done', 'https://app.test.evil.test/auth/done', 'https://app.test/auth/done/more', 'https://x@app.test/auth/done', 'https://app.test/auth/done#frag', 'javascript:alert(1)', '//evil.test']) {
      const res = await oauthCall(`/api/v1/auth/oauth/test/authorize?redirectTo=${encodeURIComponent(target)}`, { ip: freshIp() });
      expect(res.status, target).toBe(400);
      expect(await errorCode(res)).toBe('OAUTH_REDIRECT_NOT_ALLOWED');
    }
  });

  it('answers 404 for a provider that is not configured', async () => {
    const res = await oauthCall(`/api/v1/auth/oauth/nosuch/authorize?redirectTo=${encodeURIComponent(REDIRECT_TO)}`, { ip: freshIp() });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('OAUTH_UNKNOWN_PROVIDER');
  });

  it('refuses a callback whose state is not the one issued (state mismatch)', async () => {
    const flow = await startFlow();
    const back = await providerLogin(flow, `${uniqueSub()}|${uniqueEmail()}|verified`);
    back.searchParams.set('state', 'forged-state-value');
    const res = await callback(flow, back);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('OAUTH_INVALID_STATE');
  });

  it('refuses a callback in another browser than the one that started the flow (login CSRF)', async () => {
    const flow = await startFlow();
    const back = await providerLogin(flow, `${uniqueSub()}|${uniqueEmail()}|verified`);
    const other = await startFlow();
    expect((await callback(flow, back, other.cookie)).status).toBe(400);
    const fresh = await startFlow();
    const back2 = await providerLogin(fresh, `${uniqueSub()}|${uniqueEmail()}|verified`);
    const res = await callback(fresh, back2, '');
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('OAUTH_INVALID_STATE');
  });

  it('refuses a replayed state: the callback works once', async () => {
    const flow = await startFlow();
    const back = await providerLogin(flow, `${uniqueSub()}|${uniqueEmail()}|verified`);
    expect((await callback(flow, back)).status).toBe(302);
    const again = await callback(flow, back);
    expect(again.status).toBe(400);
    expect(await errorCode(again)).toBe('OAUTH_INVALID_STATE');
  });

  it('refuses a replayed exchange code', async () => {
    const back = await webSignIn(`${uniqueSub()}|${uniqueEmail()}|verified`);
    const code = back.searchParams.get('code') ?? '';
    expect((await exchange(code)).status).toBe(200);
    const again = await exchange(code);
    expect(again.status).toBe(400);
    expect(await errorCode(again)).toBe('OAUTH_INVALID_CODE');
    expect(await errorCode(await exchange('not-a-code'))).toBe('OAUTH_INVALID_CODE');
  });

  it('never signs in to an existing account by email: a pending link the owner confirms while signed in', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const sub = uniqueSub();
    const back = await webSignIn(`${sub}|${owner.email}|verified`);
    expect(back.searchParams.get('code')).toBeNull();
    expect(back.searchParams.get('error')).toBe('link_required');
    const linkCode = back.searchParams.get('link_code') ?? '';
    expect(linkCode).not.toBe('');

    // Someone else signed in cannot consume it.
    const stranger = await registerUser();
    const stolen = await oauthCall('/api/v1/auth/identities/link', { body: { linkCode }, token: stranger.accessToken, ip: freshIp() });
    expect(stolen.status).toBe(409);
    expect(await errorCode(stolen)).toBe('OAUTH_LINK_REFUSED');

    // The owner, signed in with the password, confirms a fresh one.
    const back2 = await webSignIn(`${sub}|${owner.email}|verified`);
    const linked = await oauthCall('/api/v1/auth/identities/link', { body: { linkCode: back2.searchParams.get('link_code') }, token: owner.accessToken, ip: freshIp() });
    expect(linked.status).toBe(201);
    const pair = await signInPair(`${sub}|${owner.email}|verified`);
    expect(pair.user.id).toBe(owner.user.id);
  });

  it('refuses to link to an account whose email is not verified (pre-registration takeover)', async () => {
    const squatter = await registerUser(); // never verified its address
    const back = await webSignIn(`${uniqueSub()}|${squatter.email}|verified`);
    expect(back.searchParams.get('error')).toBe('link_refused');
    expect(back.searchParams.get('link_code')).toBeNull();
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses an unverified provider email that matches an existing account', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const back = await webSignIn(`${uniqueSub()}|${owner.email}|unverified`);
    expect(back.searchParams.get('error')).toBe('link_refused');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('creates an unverified account from an unverified provider email', async () => {
    const pair = await signInPair(`${uniqueSub()}|${uniqueEmail()}|unverified`);
    const profile = await json<{ emailVerified: boolean }>(await me(pair.accessToken));
    expect(profile.emailVerified).toBe(false);
  });
});
