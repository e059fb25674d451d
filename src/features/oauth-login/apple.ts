import { importPKCS8, SignJWT } from 'jose';
import * as z from 'zod/mini';
import { sha256Hex } from '../../lib/crypto';

/**
 * Sign in with Apple's two departures from plain OIDC (developer.apple.com, "Creating a client
 * secret", "Incorporating Sign in with Apple into other platforms"):
 * - the client secret is an ES256 JWT signed with the team's key (the .p8 file): iss the team id,
 *   sub the client id (Services ID), aud https://appleid.apple.com, exp at most 6 months away;
 * - the browser flow answers with response_mode=form_post, and the first authorization also
 *   posts a `user` JSON with the name (never sent again, never signed: the name only, the email
 *   comes from the id_token).
 */

/** The `aud` Apple requires on the client secret, whatever issuer the provider is configured with. */
export const APPLE_CLIENT_SECRET_AUDIENCE = 'https://appleid.apple.com';
/** Apple refuses an exp more than 15777000 s (6 months) after iat. */
export const APPLE_MAX_SECRET_LIFETIME_S = 15_777_000;
/** Ours lives a day and is minted again when less than an hour is left (a request never carries one about to expire). */
export const APPLE_SECRET_LIFETIME_S = 24 * 3600;
const RENEW_BEFORE_S = 3600;

export interface AppleSigningKey {
  teamId: string;
  keyId: string;
  /** PKCS #8 PEM (the .p8 file); `\n` escapes from a one-line secret are accepted. */
  privateKey: string;
}

const secrets = new Map<string, { jwt: string; exp: number }>();

/** The client secret JWT for `clientId`, cached per isolate until an hour before it expires. */
export async function appleClientSecret(key: AppleSigningKey, clientId: string, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  // The key's digest is part of the cache key: a replaced .p8 never reuses a secret signed by the old one.
  const cacheKey = `${key.teamId}:${key.keyId}:${clientId}:${await sha256Hex(key.privateKey)}`;
  const hit = secrets.get(cacheKey);
  if (hit && hit.exp - now > RENEW_BEFORE_S) return hit.jwt;
  const signingKey = await importPKCS8(key.privateKey.replace(/\\n/g, '\n').trim(), 'ES256');
  const exp = now + APPLE_SECRET_LIFETIME_S;
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.keyId })
    .setIssuer(key.teamId)
    .setSubject(clientId)
    .setAudience(APPLE_CLIENT_SECRET_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(signingKey);
  secrets.set(cacheKey, { jwt, exp });
  return jwt;
}

const NamePart = z.optional(z.string().check(z.maxLength(100)));
const AppleUser = z.object({ name: z.optional(z.object({ firstName: NamePart, lastName: NamePart })) });

/** The display name from the `user` field of Apple's first form_post, or null (absent, malformed). */
export function appleUserName(raw: string | undefined): string | null {
  if (!raw || raw.length > 2048) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = z.safeParse(AppleUser, value);
  if (!parsed.success) return null;
  const name = [parsed.data.name?.firstName, parsed.data.name?.lastName]
    .map((s) => s?.replace(/\p{Cc}/gu, '').trim())
    .filter(Boolean)
    .join(' ');
  return name ? name.slice(0, 100) : null;
}
