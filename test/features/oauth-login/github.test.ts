import { describe, expect, it, inject } from 'vitest';
import { freshIp, json, type TokenPair } from '../../helpers/api';
import type { GithubTestUser } from '../../setup/global-github';
import { errorCode, me } from '../../helpers/users';
import { BASE } from '../../helpers/api';
import { assertResponseContract } from '../../helpers/contract';
import { callWithEnv } from '../../helpers/tokens';
import { OAUTH_ENV, REDIRECT_TO, uniqueEmail } from './oauth.helpers';

const github = inject('github');
const ENV = { ...OAUTH_ENV, OIDC_GITHUB_CLIENT_ID: github.clientId, OIDC_GITHUB_CLIENT_SECRET: github.clientSecret, OIDC_GITHUB_ISSUER: github.origin, OIDC_GITHUB_API_URL: `${github.origin}/api` } as unknown as Partial<CloudflareBindings>;

async function ghCall(path: string, options: Parameters<typeof callWithEnv>[2] = {}) {
  const res = await callWithEnv(ENV, path, options);
  await assertResponseContract(options.method ?? (options.body !== undefined ? 'POST' : 'GET'), `${BASE}${path}`, res);
  return res;
}

let nextId = Math.floor(Math.random() * 1e6);

/** authorize → GitHub approval → callback: where the browser lands. */
async function githubSignIn(user: GithubTestUser): Promise<URL> {
  const ip = freshIp();
  const start = await ghCall(`/api/v1/auth/oauth/github/authorize?redirectTo=${encodeURIComponent(REDIRECT_TO)}`, { ip });
  expect(start.status).toBe(302);
  const location = new URL(start.headers.get('Location') ?? '');
  expect(location.searchParams.get('scope')).toBe('read:user user:email');
  expect(location.searchParams.has('nonce')).toBe(false);
  const approved = (await (await fetch(`${github.origin}/__approve`, { method: 'POST', body: JSON.stringify({ url: location.href, user }) })).json()) as { location: string };
  const back = new URL(approved.location);
  const res = await ghCall(`${back.pathname}${back.search}`, { ip, headers: { Cookie: (start.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '' } });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('Location') ?? '');
}

describe('GitHub sign-in (OAuth 2 and its user API)', () => {
  it('signs in with the verified primary email, the numeric id as the subject', async () => {
    const email = uniqueEmail();
    nextId += 1;
    const user: GithubTestUser = { id: nextId, login: `octo${nextId}`, emails: [{ email: `other-${email}`, primary: false, verified: true }, { email, primary: true, verified: true }] };
    const back = await githubSignIn(user);
    const res = await ghCall('/api/v1/auth/oauth/exchange', { body: { code: back.searchParams.get('code') }, ip: freshIp() });
    expect(res.status).toBe(200);
    const pair = await json<TokenPair>(res);
    const profile = await json<{ email: string; emailVerified: boolean }>(await me(pair.accessToken));
    expect(profile).toMatchObject({ email, emailVerified: true });
    // Renamed login, same id: the same account.
    const again = await githubSignIn({ ...user, login: 'renamed' });
    const res2 = await ghCall('/api/v1/auth/oauth/exchange', { body: { code: again.searchParams.get('code') }, ip: freshIp() });
    expect((await json<TokenPair>(res2)).user.id).toBe(pair.user.id);
  });

  it('ignores an unverified primary email and the public profile email', async () => {
    nextId += 1;
    const back = await githubSignIn({ id: nextId, login: `octo${nextId}`, profileEmail: uniqueEmail(), emails: [{ email: uniqueEmail(), primary: true, verified: false }] });
    expect(back.searchParams.get('code')).toBeNull();
    expect(back.searchParams.get('error')).toBe('link_refused');
  });

  it('has no native id-token sign-in', async () => {
    const res = await ghCall('/api/v1/auth/oauth/github/id-token', { body: { idToken: 'x.y.z', nonce: 'n'.repeat(16) }, ip: freshIp() });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('OAUTH_UNKNOWN_PROVIDER');
  });
});
