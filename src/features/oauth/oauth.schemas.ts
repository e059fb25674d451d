import * as z from 'zod/mini';
import type { AuditActionList } from '../../lib/audit';
import { definePermissions, PERMISSIONS } from '../../lib/permissions';

export const OAUTH_AUDIT = [
  'oauth.client_create',
  'oauth.client_delete',
  'oauth.client_rotate',
  'oauth.consent',
  'oauth.consent_denied',
  'oauth.signin_failed',
  'oauth.grant_revoke',
  'oauth.code_replay',
  'oauth.refresh_reuse',
] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    oauth: (typeof OAUTH_AUDIT)[number];
  }
}

export const OAUTH_PERMISSIONS = definePermissions(['oauth:read', 'oauth:write']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    oauth: (typeof OAUTH_PERMISSIONS)[number];
  }
}

/** OpenID Connect scopes; every other scope is a permission (`users:read`), granted only to its holders. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export function isKnownScope(scope: string): boolean {
  return (OIDC_SCOPES as readonly string[]).includes(scope) || (PERMISSIONS as readonly string[]).includes(scope);
}

// https:, http: on loopback only (RFC 8252 §7.3), or a private-use scheme with a dot (§7.1); never a fragment.
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
export function isAllowedRedirectUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash || value.includes('#') || url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return LOOPBACK.has(url.hostname);
  return /^[a-z][a-z0-9+-]*\.[a-z0-9+.-]+:$/.test(url.protocol);
}

const RedirectUri = z.string().check(
  z.maxLength(2000),
  z.refine(isAllowedRedirectUri, 'Redirect URI: https, http on loopback, or a private-use scheme (com.example.app:/cb); no fragment'),
);
const Scope = z.string().check(z.refine(isKnownScope, 'Unknown scope: openid, profile, email, offline_access or a permission'));

export const ClientCreateBody = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  type: z.enum(['confidential', 'public']),
  redirectUris: z.array(RedirectUri).check(z.minLength(1), z.maxLength(10)),
  scopes: z.array(Scope).check(z.minLength(1), z.maxLength(64)),
});

export const ClientResponse = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['confidential', 'public']),
  redirectUris: z.array(z.string()),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const ClientWithSecret = z.object({ ...ClientResponse.shape, clientSecret: z.optional(z.string()) });
export const ClientList = z.object({ data: z.array(ClientResponse) });
export const ClientSecretResponse = z.object({ clientSecret: z.string() });
export const IdParams = z.object({ id: z.uuid({ error: 'Invalid id' }) });

export const GrantResponse = z.object({
  id: z.string(),
  client: z.object({ id: z.string(), name: z.string() }),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const GrantList = z.object({ data: z.array(GrantResponse) });

/** RFC 6749 §5.2 error body: what the OAuth protocol endpoints answer instead of the app's envelope. */
export const OAuthErrorBody = z.object({ error: z.string(), error_description: z.optional(z.string()) });

export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
  refresh_token: z.string(),
  scope: z.string(),
  id_token: z.optional(z.string()),
});

export const IntrospectionResponse = z.object({
  active: z.boolean(),
  scope: z.optional(z.string()),
  client_id: z.optional(z.string()),
  sub: z.optional(z.string()),
  exp: z.optional(z.number()),
  iat: z.optional(z.number()),
  iss: z.optional(z.string()),
  aud: z.optional(z.string()),
  jti: z.optional(z.string()),
  token_type: z.optional(z.string()),
});

export const UserinfoResponse = z.object({
  sub: z.string(),
  email: z.optional(z.string()),
  email_verified: z.optional(z.boolean()),
  name: z.optional(z.nullable(z.string())),
});

export const DiscoveryResponse = z.record(z.string(), z.unknown());
