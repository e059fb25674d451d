import * as z from 'zod/mini';
import type { AuditActionList } from '../../lib/audit';
import { SecondFactorCode } from '../mfa/mfa.schemas';
import { TokenPairResponse } from '../auth/auth.schemas';

export const OAUTH_LOGIN_AUDIT = ['oauth.login', 'oauth.register', 'oauth.link', 'oauth.unlink', 'oauth.link_pending'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    oauthLogin: (typeof OAUTH_LOGIN_AUDIT)[number];
  }
}

const Opaque = (name: string, max = 512) => z.string({ error: `${name} is required` }).check(z.minLength(1, `${name} is required`), z.maxLength(max, `${name} is too long`));

export const ProviderParams = z.object({ provider: z.string().check(z.regex(/^[a-z][a-z0-9]{0,31}$/, 'Unknown provider')) });
export const AuthorizeQuery = z.object({ redirectTo: Opaque('redirectTo', 2048) });
/** What the provider sends back; the state finds the flow, the rest is checked in oidc.ts (iss, error, code). */
export const CallbackQuery = z.object({
  state: z.optional(z.string().check(z.maxLength(512))),
  code: z.optional(z.string().check(z.maxLength(4096))),
  error: z.optional(z.string().check(z.maxLength(256))),
  error_description: z.optional(z.string().check(z.maxLength(1024))),
  iss: z.optional(z.string().check(z.maxLength(512))),
  scope: z.optional(z.string().check(z.maxLength(1024))),
  session_state: z.optional(z.string().check(z.maxLength(512))),
  authuser: z.optional(z.string().check(z.maxLength(64))),
  prompt: z.optional(z.string().check(z.maxLength(64))),
  hd: z.optional(z.string().check(z.maxLength(256))),
});
/** Apple's form_post: the same fields, `user` (JSON with the name, first authorization only) and an `id_token` we do not ask for (ignored). */
export const CallbackForm = z.object({
  state: z.optional(z.string().check(z.maxLength(512))),
  code: z.optional(z.string().check(z.maxLength(4096))),
  error: z.optional(z.string().check(z.maxLength(256))),
  error_description: z.optional(z.string().check(z.maxLength(1024))),
  iss: z.optional(z.string().check(z.maxLength(512))),
  user: z.optional(z.string().check(z.maxLength(2048))),
  id_token: z.optional(z.string().check(z.maxLength(8192))),
});
export const ExchangeBody = z.strictObject({
  code: Opaque('Code', 128),
  /** Required when the account has two-factor on: social sign-in is one factor. */
  mfaCode: z.optional(SecondFactorCode),
});
export const IdTokenBody = z.strictObject({
  idToken: Opaque('idToken', 8192),
  /** The raw nonce the app generated (the token carries it, or its SHA-256 hex as Apple's SDK sends it). */
  nonce: Opaque('nonce', 256).check(z.minLength(16, 'nonce must be at least 16 characters')),
});
export const LinkBody = z.strictObject({ linkCode: Opaque('linkCode', 128) });
export const IdentityParams = z.object({ id: z.uuid({ error: 'Invalid identity id' }) });

/** Same verified email as an existing account: sign in to it, then `POST /auth/identities/link`. */
export const LinkRequiredResponse = z.object({
  status: z.literal('link_required'),
  provider: z.string(),
  linkCode: z.string(),
  expiresIn: z.number(),
});
/** The account has two-factor on: `POST /auth/oauth/exchange` with this code and `mfaCode`. */
export const MfaRequiredResponse = z.object({ status: z.literal('mfa_required'), code: z.string(), expiresIn: z.number() });
export const NativeSignInResponse = z.union([TokenPairResponse, LinkRequiredResponse, MfaRequiredResponse]);

export const IdentityResponse = z.object({
  id: z.string(),
  provider: z.string(),
  email: z.nullable(z.string()),
  emailVerified: z.boolean(),
  createdAt: z.string(),
  lastLoginAt: z.nullable(z.string()),
});
export const IdentityListResponse = z.object({ data: z.array(IdentityResponse) });
