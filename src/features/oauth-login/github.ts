import { providerError } from './oauth-login.errors';
import type { ProviderConfig } from './oauth-login.providers';
import { secureUrl } from './oidc';

interface GithubUser {
  id: number;
  login: string;
}
interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/**
 * GitHub's identity after the OAuth 2 code exchange: the numeric user id is the subject (the
 * login can be renamed), and only the primary email, and only if GitHub verified it, counts;
 * the profile's public `email` field is ignored (any address, never verified).
 */
export async function githubClaims(provider: ProviderConfig, accessToken: string): Promise<Record<string, unknown>> {
  const api = provider.apiUrl ?? new URL('https://api.github.com');
  const get = async (path: string) => {
    const res = await fetch(secureUrl(new URL(path, api.href.endsWith('/') ? api : `${api.href}/`), 'github api'), {
      headers: { Accept: 'application/vnd.github+json', Authorization: `Bearer ${accessToken}`, 'User-Agent': 'app-ubr' },
      redirect: 'manual',
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw providerError(`github ${path} answered ${res.status}`);
    return res.json();
  };
  const [user, emails] = (await Promise.all([get('user'), get('user/emails')])) as [GithubUser, GithubEmail[]];
  if (typeof user.id !== 'number') throw providerError('github user without id');
  const primary = Array.isArray(emails) ? emails.find((e) => e.primary && e.verified) : undefined;
  return { sub: String(user.id), ...(primary ? { email: primary.email, email_verified: true } : {}) };
}
