import { env } from 'cloudflare:workers';
import { importJWK, SignJWT, type JWTPayload } from 'jose';
import { expect, inject } from 'vitest';
import { BASE, freshIp, json, type CallOptions, type TokenPair } from '../../helpers/api';
import { assertResponseContract } from '../../helpers/contract';
import { callWithEnv } from '../../helpers/tokens';

export const oidc = inject('oidc');
export const REDIRECT_TO = 'https://app.test/auth/done';

/** The provider `test` (the local oidc-provider) and an allowlist, on top of the real bindings. */
export const OAUTH_ENV = {
  OIDC_TEST_ISSUER: oidc.issuer,
  OIDC_TEST_CLIENT_ID: oidc.clientId,
  OIDC_TEST_CLIENT_SECRET: oidc.clientSecret,
  OIDC_TEST_AUDIENCES: 'ubr-ios-app',
  OAUTH_REDIRECT_ALLOWLIST: `${REDIRECT_TO},https://app.test/native/`,
} as unknown as Partial<CloudflareBindings>;

/** Like `call()`, with the provider configured; the response is still checked against its route's spec. */
export async function oauthCall(path: string, options: CallOptions = {}): Promise<Response> {
  const res = await callWithEnv(OAUTH_ENV, path, options);
  await assertResponseContract(options.method ?? (options.body !== undefined ? 'POST' : 'GET'), `${BASE}${path}`, res);
  return res;
}

export interface Flow {
  ip: string;
  location: URL;
  cookie: string;
  setCookie: string;
}

export async function startFlow(redirectTo = REDIRECT_TO, ip = freshIp()): Promise<Flow> {
  const res = await oauthCall(`/api/v1/auth/oauth/test/authorize?redirectTo=${encodeURIComponent(redirectTo)}`, { ip });
  expect(res.status).toBe(302);
  const setCookie = res.headers.get('Set-Cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  return { ip, location: new URL(res.headers.get('Location') ?? ''), cookie, setCookie };
}

/** Plays the browser at the provider (login, consent): answers the URL it sends back to our callback. */
export async function providerLogin(flow: Flow, login: string): Promise<URL> {
  const res = await fetch(`${oidc.issuer}/__drive`, { method: 'POST', body: JSON.stringify({ url: flow.location.href, login }) });
  const out = (await res.json()) as { location?: string; error?: string };
  if (!out.location) throw new Error(`provider drive failed: ${out.error}`);
  return new URL(out.location);
}

export const pathOf = (url: URL) => `${url.pathname}${url.search}`;

export async function callback(flow: Flow, callbackUrl: URL, cookie = flow.cookie): Promise<Response> {
  return oauthCall(pathOf(callbackUrl), { ip: flow.ip, headers: cookie ? { Cookie: cookie } : {} });
}

export async function exchange(code: string, ip = freshIp()): Promise<Response> {
  return oauthCall('/api/v1/auth/oauth/exchange', { body: { code }, ip });
}

/** The whole browser flow: answers where the callback sent the browser. */
export async function webSignIn(login: string): Promise<URL> {
  const flow = await startFlow();
  const res = await callback(flow, await providerLogin(flow, login));
  expect(res.status).toBe(302);
  return new URL(res.headers.get('Location') ?? '');
}

/** The whole flow and the exchange: a token pair. */
export async function signInPair(login: string): Promise<TokenPair> {
  const back = await webSignIn(login);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.href}`);
  const res = await exchange(code);
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

export const uniqueSub = () => `sub-${crypto.randomUUID()}`;
export const uniqueEmail = () => `social-${crypto.randomUUID().slice(0, 8)}@example.com`;

export async function markEmailVerified(email: string): Promise<void> {
  await env.AUTH_DB.prepare('UPDATE users SET email_verified_at = ? WHERE email = ?').bind(Date.now(), email).run();
}

/** An id_token as the provider would sign it (its own key), with overrides. */
export async function mintIdToken(claims: JWTPayload, header: { alg?: string; kid?: string } = {}): Promise<string> {
  const key = await importJWK(oidc.signingKey, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: oidc.issuer, aud: 'ubr-ios-app', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: oidc.signingKey.kid, ...header } as { alg: string })
    .sign(key);
}
