import { and, eq, isNull } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { oauthClients, oauthCodes, oauthGrants } from '../../db/schema/auth-oauth';
import type { AppConfig } from '../../lib/config';
import { randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { callerPermissions, findLiveCaller, type CallerRow } from '../auth/caller.repository';
import { OAuthError } from './oauth.errors';
import { OIDC_SCOPES } from './oauth.schemas';

/**
 * The OAuth 2.1 authorization server on our own D1 stores (strongly consistent: a revoked grant,
 * family or client stops its tokens on the next use). Codes and refresh tokens are random and
 * stored only as SHA-256 hashes; access tokens and id_tokens are EdDSA JWTs of our JWKS.
 */

export interface OAuthDeps {
  db: Databases;
  env: CloudflareBindings;
  config: AppConfig;
}

export const CODE_TTL_MS = 60_000;
export const ID_TOKEN_TTL_SECONDS = 15 * 60;
/** OAuth access tokens carry this audience: the session guard (audience JWT_AUDIENCE) refuses them. */
export const oauthAudience = (config: AppConfig) => `${config.jwtAudience}/oauth`;

export type ClientRow = typeof oauthClients.$inferSelect;

/** Live (not deleted) client by its client_id. */
export async function findClient(db: Databases, clientId: string): Promise<ClientRow | null> {
  if (!/^[0-9a-f-]{36}$/.test(clientId)) return null;
  return (await db.auth.select().from(oauthClients).where(and(eq(oauthClients.publicId, clientId), isNull(oauthClients.deletedAt))).get()) ?? null;
}

export interface ClientCredentials {
  clientId: string;
  secret: string | null;
}

/**
 * Client authentication (RFC 6749 §2.3): confidential clients by secret (basic or post, compared
 * in constant time over hashes), public clients by client_id alone (PKCE binds their codes).
 * A confidential client without its secret, or a public one sending a secret, is refused.
 */
export async function authenticateClient(db: Databases, creds: ClientCredentials | null): Promise<ClientRow> {
  const fail = () => new OAuthError(401, 'invalid_client', 'Client authentication failed');
  if (!creds) throw fail();
  const client = await findClient(db, creds.clientId);
  // Unknown client: the same hash work as a known one.
  const presented = await sha256Hex(creds.secret ?? '');
  if (!client) throw fail();
  if (client.type === 'public') {
    if (creds.secret !== null) throw fail();
    return client;
  }
  if (creds.secret === null || !client.secretHash || !(await timingSafeEqualStrings(presented, client.secretHash))) throw fail();
  return client;
}

/** The user's current permissions (roles read now: a revoked role narrows every OAuth token at once). */
export async function userNow(env: CloudflareBindings, userInternalId: number): Promise<(CallerRow & { permissions: Set<string> }) | null> {
  const row = await findLiveCaller(env.AUTH_DB, userInternalId);
  return row && { ...row, permissions: callerPermissions(row).permissions };
}

/** Scopes a user can hold: the OIDC ones and the permissions they hold now (never more). */
export function effectiveScopes(scopes: readonly string[], permissions: Set<string>): string[] {
  return scopes.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s) || permissions.has(s));
}

/** Requested ∩ the client's registered scopes ∩ what the user holds. */
export async function scopesForUser(deps: OAuthDeps, client: ClientRow, requested: string[], userInternalId: number): Promise<string[]> {
  const user = await userNow(deps.env, userInternalId);
  if (!user) return [];
  return effectiveScopes(
    requested.filter((s) => client.scopes.includes(s)),
    user.permissions,
  );
}

/** After consent: remember the grant (upsert, un-revoking it) and issue a 60 s single-use code. */
export async function issueCode(
  deps: OAuthDeps,
  input: { client: ClientRow; userInternalId: number; scopes: string[]; redirectUri: string; codeChallenge: string; nonce: string | null },
): Promise<string> {
  const db = deps.db.auth;
  const now = new Date();
  const [grant] = await db
    .insert(oauthGrants)
    .values({ userId: input.userInternalId, clientId: input.client.id, scopes: input.scopes })
    .onConflictDoUpdate({ target: [oauthGrants.userId, oauthGrants.clientId], set: { scopes: input.scopes, revokedAt: null, updatedAt: now } })
    .returning({ id: oauthGrants.id });
  const code = randomToken(32);
  await db.insert(oauthCodes).values({
    codeHash: await sha256Hex(code),
    grantId: grant!.id,
    redirectUri: input.redirectUri,
    codeChallenge: input.codeChallenge,
    scopes: input.scopes,
    nonce: input.nonce,
    expiresAt: new Date(now.getTime() + CODE_TTL_MS),
  });
  return code;
}
