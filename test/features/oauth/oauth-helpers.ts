import { exports } from 'cloudflare:workers';
import { BASE, call, freshIp, json } from '../../helpers/api';
import type { TestUser } from '../../helpers/users';

export const REDIRECT = 'https://app.example.org/callback';

export interface TestClient {
  id: string;
  clientSecret?: string;
  type: 'confidential' | 'public';
}

export async function createClient(adminToken: string, overrides: Partial<{ type: 'confidential' | 'public'; redirectUris: string[]; scopes: string[]; name: string }> = {}): Promise<TestClient> {
  const res = await call('/api/v1/oauth/clients', {
    token: adminToken,
    body: { name: overrides.name ?? 'Test app', type: overrides.type ?? 'confidential', redirectUris: overrides.redirectUris ?? [REDIRECT], scopes: overrides.scopes ?? ['openid', 'email', 'profile', 'offline_access', 'users:read'] },
  });
  if (res.status !== 201) throw new Error(`client create failed: ${res.status} ${await res.text()}`);
  return json<TestClient>(res);
}

export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const verifier = b64(bytes);
  const challenge = b64(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}

export function authorizeUrl(params: Record<string, string>): string {
  return `/oauth/authorize?${new URLSearchParams(params).toString()}`;
}

/** Raw fetch through the Worker (no redirect following): for HTML and form posts. */
export function raw(path: string, init: RequestInit & { ip?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('CF-Connecting-IP', init.ip ?? freshIp());
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers, redirect: 'manual' }));
}

export function ticketOf(html: string): string {
  const m = /name="request" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no ticket in page: ${html.slice(0, 300)}`);
  return m[1]!.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

export function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() };
}

/** The browser part: consent page, sign in, allow. Returns the redirect (Location) URL. */
export async function consent(path: string, user: Pick<TestUser, 'email' | 'password'>, decision = 'allow'): Promise<URL> {
  const page = await raw(path);
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${await page.text()}`);
  const ticket = ticketOf(await page.text());
  const posted = await raw('/oauth/authorize', form({ request: ticket, email: user.email, password: user.password, decision }));
  if (posted.status !== 302) throw new Error(`consent post: ${posted.status} ${await posted.text()}`);
  return new URL(posted.headers.get('Location')!);
}

export function basic(client: TestClient): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.clientSecret ?? '')}`)}` };
}

/** Full code flow for a client and user; returns the token response body. */
export async function codeFlow(client: TestClient, user: Pick<TestUser, 'email' | 'password'>, scope = 'openid email users:read'): Promise<{ code: string; verifier: string; tokens: Record<string, unknown> }> {
  const { verifier, challenge } = await pkce();
  const redirect = await consent(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope, state: 's1', code_challenge: challenge, code_challenge_method: 'S256' }), user);
  const code = redirect.searchParams.get('code')!;
  const res = await token(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return { code, verifier, tokens: await json(res) };
}

export function token(client: TestClient, fields: Record<string, string>): Promise<Response> {
  if (client.type === 'public') {
    return call('/oauth/token', { method: 'POST', rawBody: new URLSearchParams({ ...fields, client_id: client.id }).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, ip: freshIp() });
  }
  return call('/oauth/token', { method: 'POST', rawBody: new URLSearchParams(fields).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...basic(client) }, ip: freshIp() });
}

export function introspect(client: TestClient, tokenValue: string): Promise<Response> {
  return call('/oauth/introspect', { method: 'POST', rawBody: new URLSearchParams({ token: tokenValue }).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...basic(client) }, ip: freshIp() });
}
