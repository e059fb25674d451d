import { AppError } from '../../lib/errors';
import type { AppleSigningKey } from './apple';
import { fetchDiscovery, type ProviderMetadata } from './oidc';

/**
 * Social sign-in providers, read from the env at run time (no binding to declare per provider):
 * `OIDC_<NAME>_ISSUER`, `OIDC_<NAME>_CLIENT_ID`, `OIDC_<NAME>_CLIENT_SECRET`, optional
 * `OIDC_<NAME>_AUDIENCES` (more client ids accepted on native id_tokens: iOS, Android apps).
 * Presets fill the issuer and the rules of the well-known providers; the route's `:provider`
 * is NAME in lower case. Apple's browser flow also needs `OIDC_APPLE_TEAM_ID`, `OIDC_APPLE_KEY_ID`
 * and `OIDC_APPLE_PRIVATE_KEY` (the .p8): its client secret is a JWT signed with that key.
 */
export interface ProviderConfig {
  name: string;
  /** `oauth2-github`: no OpenID Connect; the identity comes from its user and emails API. */
  kind: 'oidc' | 'oauth2-github';
  /** GitHub: the REST API base (https://api.github.com, or a GitHub Enterprise Server's). */
  apiUrl?: URL;
  issuer: URL;
  clientId: string;
  clientSecret: string | null;
  /** The `aud` values a native id_token may carry: the web client id and the app ids. */
  audiences: string[];
  scope: string;
  /** False where the provider's `email_verified` cannot be trusted to mean the user owns it. */
  trustEmailVerified: boolean;
  /** False when the browser flow is not configured (Apple without its signing key): native id-token sign-in only. */
  webFlow: boolean;
  /** `form_post`: the provider POSTs the authorization response to the callback (a cross-site POST). */
  responseMode: 'query' | 'form_post';
  /** Apple: the client secret is an ES256 JWT signed with this key (clientSecret is then null). */
  appleKey?: AppleSigningKey;
}

interface Preset {
  issuer: string;
  trustEmailVerified: boolean;
  scope?: string;
  responseMode?: 'form_post';
}

const PRESETS: Record<string, Preset> = {
  google: { issuer: 'https://accounts.google.com', trustEmailVerified: true },
  // Personal Microsoft accounts. A work tenant sets OIDC_MICROSOFT_ISSUER to its own
  // https://login.microsoftonline.com/<tenant id>/v2.0 (the `common` issuer is a template,
  // which discovery refuses). Entra lets tenant admins set any unverified email: never trusted.
  microsoft: { issuer: 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0', trustEmailVerified: false },
  // Apple's scopes are `name email`; asking for either requires response_mode=form_post. Its
  // email_verified is true for private relay addresses too (Apple forwards them to the user).
  apple: { issuer: 'https://appleid.apple.com', trustEmailVerified: true, scope: 'openid name email', responseMode: 'form_post' },
};

const NAME = /^[a-z][a-z0-9]{0,31}$/;

function read(env: object, key: string): string | undefined {
  const value = (env as Record<string, unknown>)[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The provider named in the path, or 404 (an unconfigured name looks like an unknown one). */
export function providerConfig(env: object, name: string): ProviderConfig {
  if (!NAME.test(name)) throw unknownProvider();
  const prefix = `OIDC_${name.toUpperCase()}_`;
  const preset = PRESETS[name];
  const github = name === 'github';
  const issuer = read(env, `${prefix}ISSUER`) ?? (github ? 'https://github.com' : preset?.issuer);
  const clientId = read(env, `${prefix}CLIENT_ID`);
  if (!issuer || !clientId) throw unknownProvider();
  const extra = (read(env, `${prefix}AUDIENCES`) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const teamId = read(env, `${prefix}TEAM_ID`);
  const keyId = read(env, `${prefix}KEY_ID`);
  const privateKey = read(env, `${prefix}PRIVATE_KEY`);
  const appleKey = name === 'apple' && teamId && keyId && privateKey ? { teamId, keyId, privateKey } : undefined;
  return {
    name,
    kind: github ? 'oauth2-github' : 'oidc',
    ...(github ? { apiUrl: new URL(read(env, `${prefix}API_URL`) ?? 'https://api.github.com') } : {}),
    issuer: new URL(issuer),
    clientId,
    clientSecret: appleKey ? null : (read(env, `${prefix}CLIENT_SECRET`) ?? null),
    audiences: [clientId, ...extra],
    scope: github ? 'read:user user:email' : (preset?.scope ?? 'openid email profile'),
    trustEmailVerified: preset?.trustEmailVerified ?? true,
    webFlow: name !== 'apple' || appleKey !== undefined,
    responseMode: preset?.responseMode ?? 'query',
    ...(appleKey ? { appleKey } : {}),
  };
}

export const unknownProvider = () => new AppError(404, 'OAUTH_UNKNOWN_PROVIDER');

const DISCOVERY_TTL_MS = 60 * 60_000;
const discovered = new Map<string, { at: number; as: Promise<ProviderMetadata> }>();

/**
 * The provider's metadata: by OIDC discovery (its issuer checked), cached per isolate for an
 * hour; GitHub publishes none, its two endpoints are fixed.
 */
export function discover(provider: ProviderConfig): Promise<ProviderMetadata> {
  if (provider.kind === 'oauth2-github') {
    const base = provider.issuer.href.replace(/\/+$/, '');
    return Promise.resolve({ issuer: base, authorization_endpoint: `${base}/login/oauth/authorize`, token_endpoint: `${base}/login/oauth/access_token` });
  }
  const key = provider.issuer.href;
  const hit = discovered.get(key);
  if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.as;
  const as = fetchDiscovery(provider.issuer);
  as.catch(() => discovered.delete(key));
  discovered.set(key, { at: Date.now(), as });
  return as;
}
