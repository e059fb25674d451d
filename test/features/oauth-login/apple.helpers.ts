import { expect, inject } from 'vitest';
import { BASE, freshIp } from '../../helpers/api';
import { assertResponseContract } from '../../helpers/contract';
import { callWithEnv } from '../../helpers/tokens';
import type { AppleTestUser } from '../../setup/global-apple';
import { OAUTH_ENV, REDIRECT_TO } from './oauth.helpers';

export const apple = inject('apple');

/** Apple configured against the local stand-in; the .p8 as a one-line secret with `\n` escapes. */
export const APPLE_ENV = {
  ...OAUTH_ENV,
  OIDC_APPLE_ISSUER: apple.origin,
  OIDC_APPLE_CLIENT_ID: apple.clientId,
  OIDC_APPLE_TEAM_ID: apple.teamId,
  OIDC_APPLE_KEY_ID: apple.keyId,
  OIDC_APPLE_PRIVATE_KEY: apple.privateKey.trim().replace(/\n/g, '\\n'),
} as unknown as Partial<CloudflareBindings>;

export async function appleCall(path: string, options: Parameters<typeof callWithEnv>[2] = {}, env: Partial<CloudflareBindings> = APPLE_ENV): Promise<Response> {
  const res = await callWithEnv(env, path, options);
  await assertResponseContract(options.method ?? (options.body !== undefined || options.rawBody !== undefined ? 'POST' : 'GET'), `${BASE}${path}`, res);
  return res;
}

export interface AppleFlow {
  ip: string;
  location: URL;
  cookie: string;
  setCookie: string;
  env: Partial<CloudflareBindings>;
}

export async function startApple(env: Partial<CloudflareBindings> = APPLE_ENV): Promise<AppleFlow> {
  const ip = freshIp();
  const res = await appleCall(`/api/v1/auth/oauth/apple/authorize?redirectTo=${encodeURIComponent(REDIRECT_TO)}`, { ip }, env);
  expect(res.status).toBe(302);
  const setCookie = res.headers.get('Set-Cookie') ?? '';
  return { ip, location: new URL(res.headers.get('Location') ?? ''), cookie: setCookie.split(';')[0] ?? '', setCookie, env };
}

export interface ApplePost {
  action: URL;
  fields: Record<string, string>;
}

/** The user signs in at Apple: answers the form Apple's page would auto-submit to our callback. */
export async function appleApprove(flow: AppleFlow, user: AppleTestUser): Promise<ApplePost> {
  const res = await fetch(`${apple.origin}/__approve`, { method: 'POST', body: JSON.stringify({ url: flow.location.href, user }) });
  expect(res.status).toBe(200);
  const out = (await res.json()) as { action: string; fields: Record<string, string> };
  return { action: new URL(out.action), fields: out.fields };
}

/** The browser's cross-site POST of that form: Apple's origin, the flow cookie (SameSite=None lets it through). */
export async function postCallback(flow: AppleFlow, post: ApplePost, options: { cookie?: string; origin?: string | null; fields?: string; path?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const cookie = options.cookie ?? flow.cookie;
  if (cookie) headers.Cookie = cookie;
  const origin = options.origin === undefined ? apple.origin : options.origin;
  if (origin !== null) headers.Origin = origin;
  return appleCall(options.path ?? post.action.pathname, { method: 'POST', ip: flow.ip, headers, rawBody: options.fields ?? new URLSearchParams(post.fields).toString() }, flow.env);
}

/** The whole web flow: where the browser lands after the callback's 303. */
export async function appleSignIn(user: AppleTestUser, env: Partial<CloudflareBindings> = APPLE_ENV): Promise<URL> {
  const flow = await startApple(env);
  const res = await postCallback(flow, await appleApprove(flow, user));
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location') ?? '');
}

export async function acceptedSecrets(): Promise<string[]> {
  return ((await (await fetch(`${apple.origin}/__secrets`)).json()) as { accepted: string[] }).accepted;
}

export const appleSub = () => `001234.${crypto.randomUUID().replace(/-/g, '')}.0420`;
