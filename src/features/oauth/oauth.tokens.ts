import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import { users } from '../../db/schema/auth';
import { oauthCodes, oauthGrants, oauthSpentRefreshTokens, oauthTokenFamilies } from '../../db/schema/auth-oauth';
import { isUniqueViolation } from '../../db/errors';
import { base64url, pkceChallenge, randomToken, sha256Hex, timingSafeEqualStrings } from '../../lib/crypto';
import { ACCESS_TOKEN_TTL_SECONDS, getKeyRing, InvalidTokenError, signWithRing, verifyAccessToken } from '../../security/jwt';
import { loadUserView } from '../users/users.service';
import { OAuthError } from './oauth.errors';
import { effectiveScopes, ID_TOKEN_TTL_SECONDS, oauthAudience, scopesForUser, userNow, type ClientRow, type OAuthDeps } from './oauth.service';

/**
 * The OAuth provider's tokens: the code exchange, refresh rotation with reuse detection, the
 * access-token check behind introspection and userinfo, and revocation (oauth.service.ts holds
 * clients, scopes and the authorization code).
 */

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  id_token?: string;
}

/** RFC 7636 §4.6, S256 only: BASE64URL(SHA256(verifier)) == challenge, compared in constant time. */
async function pkceMatches(verifier: string, challenge: string): Promise<boolean> {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  return timingSafeEqualStrings(await pkceChallenge(verifier), challenge);
}

async function newRefresh(familyPublicId: string) {
  const token = `${familyPublicId}.${randomToken(32)}`;
  return { token, hash: await sha256Hex(token) };
}

async function tokenSet(
  deps: OAuthDeps,
  a: { userPublicId: string; familyPublicId: string; clientId: string; scopes: string[]; refreshToken: string; nonce?: string | null; withIdToken: boolean },
): Promise<TokenSet> {
  const ring = await getKeyRing(deps.env.JWT_SIGNING_KEYS);
  const scope = a.scopes.join(' ');
  const iat = Math.floor(Date.now() / 1000);
  const access = await signWithRing(
    ring,
    'at+jwt',
    { sid: a.familyPublicId, client_id: a.clientId, scope },
    { issuer: deps.config.jwtIssuer, audience: oauthAudience(deps.config), subject: a.userPublicId, ttlSeconds: ACCESS_TOKEN_TTL_SECONDS, issuedAt: iat },
  );
  const set: TokenSet = { access_token: access, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS, refresh_token: a.refreshToken, scope };
  if (a.withIdToken && a.scopes.includes('openid')) {
    const user = await loadUserView(deps.db, a.userPublicId);
    const claims: Record<string, unknown> = { auth_time: iat, at_hash: await atHash(access) };
    if (a.nonce) claims.nonce = a.nonce;
    if (user && a.scopes.includes('email')) Object.assign(claims, { email: user.email, email_verified: user.emailVerified });
    if (user && a.scopes.includes('profile')) claims.name = user.fullName;
    set.id_token = await signWithRing(ring, 'JWT', claims, { issuer: deps.config.jwtIssuer, audience: a.clientId, subject: a.userPublicId, ttlSeconds: ID_TOKEN_TTL_SECONDS, issuedAt: iat });
  }
  return set;
}

/** OIDC Core §3.1.3.6 for EdDSA (Ed25519): the left half of SHA-512 of the token. */
async function atHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-512', new TextEncoder().encode(token)));
  return base64url(digest.slice(0, 32));
}

const invalidGrant = (d: string) => new OAuthError(400, 'invalid_grant', d);

/**
 * authorization_code: the code must be this client's, unexpired, unused, for this exact
 * redirect_uri, and its S256 challenge must match the verifier. A code opens at most one
 * family (unique `code_id`: of concurrent exchanges exactly one wins); a code presented again
 * revokes what it issued (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
 */
export async function exchangeCode(
  deps: OAuthDeps,
  client: ClientRow,
  input: { code: string; redirectUri: string | undefined; codeVerifier: string | undefined },
): Promise<{ tokens: TokenSet; replay?: undefined } | { replay: { userPublicId: string } }> {
  const db = deps.db.auth;
  const row = await db
    .select({ code: oauthCodes, grantClientId: oauthGrants.clientId, userId: oauthGrants.userId, grantRevokedAt: oauthGrants.revokedAt })
    .from(oauthCodes)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthCodes.grantId))
    .where(eq(oauthCodes.codeHash, await sha256Hex(input.code)))
    .get();
  // Another client's code is refused, and does not burn it for its owner.
  if (!row || row.grantClientId !== client.id) throw invalidGrant('Invalid authorization code');
  const now = new Date();
  if (row.code.usedAt !== null) return { replay: await revokeCodeFamily(deps, row.code.id, row.userId) };
  if (row.code.expiresAt.getTime() <= now.getTime() || row.grantRevokedAt !== null) throw invalidGrant('Invalid authorization code');
  if (input.redirectUri !== row.code.redirectUri) throw invalidGrant('redirect_uri does not match the authorization request');
  if (!input.codeVerifier || !(await pkceMatches(input.codeVerifier, row.code.codeChallenge))) throw invalidGrant('PKCE verification failed');
  const scopes = await scopesForUser(deps, client, row.code.scopes, row.userId);
  const familyPublicId = uuidv7();
  const refresh = await newRefresh(familyPublicId);
  try {
    await db.batch([
      db.update(oauthCodes).set({ usedAt: now }).where(eq(oauthCodes.id, row.code.id)),
      db.insert(oauthTokenFamilies).values({
        publicId: familyPublicId,
        grantId: row.code.grantId,
        codeId: row.code.id,
        scopes,
        refreshHash: refresh.hash,
        expiresAt: new Date(now.getTime() + deps.config.sessionAbsoluteTtlMs),
      }),
    ]);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return { replay: await revokeCodeFamily(deps, row.code.id, row.userId) };
  }
  const user = await db.select({ publicId: users.publicId }).from(users).where(eq(users.id, row.userId)).get();
  const tokens = await tokenSet(deps, { userPublicId: user!.publicId, familyPublicId, clientId: client.publicId, scopes, refreshToken: refresh.token, nonce: row.code.nonce, withIdToken: true });
  return { tokens };
}

async function revokeCodeFamily(deps: OAuthDeps, codeId: number, userId: number) {
  await deps.db.auth
    .update(oauthTokenFamilies)
    .set({ revokedAt: new Date(), revokedReason: 'code_replay' })
    .where(and(eq(oauthTokenFamilies.codeId, codeId), isNull(oauthTokenFamilies.revokedAt)));
  const user = await deps.db.auth.select({ publicId: users.publicId }).from(users).where(eq(users.id, userId)).get();
  return { userPublicId: user?.publicId ?? '' };
}

const REFRESH = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

/** The live family with its grant, client and user, or null. */
const FAMILY_SQL = `SELECT f.id AS fid, f.public_id AS family_id, f.scopes AS scopes, f.grant_id AS grant_id, c.id AS client_row, c.public_id AS client_id, g.user_id AS user_row, users.public_id AS user_id
FROM oauth_token_families f JOIN oauth_grants g ON g.id = f.grant_id JOIN oauth_clients c ON c.id = g.client_id JOIN users ON users.id = g.user_id
WHERE f.public_id = ?1 AND f.revoked_at IS NULL AND f.expires_at > ?2 AND g.revoked_at IS NULL AND c.deleted_at IS NULL AND users.deleted_at IS NULL`;
interface FamilyRow {
  fid: number;
  family_id: string;
  scopes: string;
  grant_id: number;
  client_row: number;
  client_id: string;
  user_row: number;
  user_id: string;
}

/**
 * refresh_token: rotation by one conditional UPDATE (exactly one winner), the spent hash recorded
 * in the same batch; a spent token presented again revokes the family (same rules as sessions,
 * without the device retry window: a third-party app has no device token). Scopes are narrowed
 * to what the user holds now.
 */
export async function refreshTokens(deps: OAuthDeps, client: ClientRow, refreshToken: string): Promise<{ tokens: TokenSet } | { reuse: { userPublicId: string } | null }> {
  const m = REFRESH.exec(refreshToken);
  if (!m) throw invalidGrant('Invalid refresh token');
  const familyPublicId = m[1]!;
  const oldHash = await sha256Hex(refreshToken);
  const db = deps.db.auth;
  const now = new Date();
  const family = await deps.env.AUTH_DB.prepare(FAMILY_SQL).bind(familyPublicId, now.getTime()).first<FamilyRow>();
  if (family && family.client_row !== client.id) throw invalidGrant('Invalid refresh token');
  const next = await newRefresh(familyPublicId);
  if (family) {
    const [rotated] = await db.batch([
      db
        .update(oauthTokenFamilies)
        .set({ refreshHash: next.hash })
        .where(and(eq(oauthTokenFamilies.id, family.fid), eq(oauthTokenFamilies.refreshHash, oldHash), isNull(oauthTokenFamilies.revokedAt), gt(oauthTokenFamilies.expiresAt, now)))
        .returning({ id: oauthTokenFamilies.id }),
      db
        .insert(oauthSpentRefreshTokens)
        .select(
          db
            .select({
              id: sql<number>`NULL`.as('id'),
              publicId: sql<string>`${uuidv7()}`.as('public_id'),
              createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
              updatedAt: sql<Date>`${now.getTime()}`.as('updated_at'),
              familyId: oauthTokenFamilies.id,
              tokenHash: sql<string>`${oldHash}`.as('token_hash'),
            })
            .from(oauthTokenFamilies)
            .where(and(eq(oauthTokenFamilies.id, family.fid), eq(oauthTokenFamilies.refreshHash, next.hash))),
        )
        .onConflictDoNothing(),
    ]);
    if (rotated[0]) {
      const user = await userNow(deps.env, family.user_row);
      if (!user) throw invalidGrant('Invalid refresh token');
      const scopes = effectiveScopes(JSON.parse(family.scopes) as string[], user.permissions).filter((s) => client.scopes.includes(s));
      return { tokens: await tokenSet(deps, { userPublicId: family.user_id, familyPublicId, clientId: client.publicId, scopes, refreshToken: next.token, withIdToken: false }) };
    }
  }
  const spent = await db
    .select({ familyId: oauthSpentRefreshTokens.familyId, clientId: oauthGrants.clientId, userId: oauthGrants.userId })
    .from(oauthSpentRefreshTokens)
    .innerJoin(oauthTokenFamilies, eq(oauthTokenFamilies.id, oauthSpentRefreshTokens.familyId))
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokenFamilies.grantId))
    .where(eq(oauthSpentRefreshTokens.tokenHash, oldHash))
    .get();
  if (!spent || spent.clientId !== client.id) return { reuse: null };
  await db.update(oauthTokenFamilies).set({ revokedAt: now, revokedReason: 'refresh_reuse' }).where(and(eq(oauthTokenFamilies.id, spent.familyId), isNull(oauthTokenFamilies.revokedAt)));
  const user = await db.select({ publicId: users.publicId }).from(users).where(eq(users.id, spent.userId)).get();
  return { reuse: { userPublicId: user?.publicId ?? '' } };
}

export interface ActiveToken {
  sub: string;
  clientId: string;
  scopes: string[];
  familyPublicId: string;
  claims: { exp: number; iat: number; jti: string };
}

/**
 * An OAuth access token, checked at each use: our signature and audience, then the family, its
 * grant, its client and its user still live (D1, not a cache), and the scopes narrowed to the
 * permissions the user holds now. Null when any of it fails.
 */
export async function checkAccessToken(deps: OAuthDeps, token: string): Promise<ActiveToken | null> {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  let claims;
  try {
    claims = await verifyAccessToken(await getKeyRing(deps.env.JWT_SIGNING_KEYS), { issuer: deps.config.jwtIssuer, audience: oauthAudience(deps.config) }, token);
  } catch (err) {
    if (err instanceof InvalidTokenError) return null;
    throw err;
  }
  const family = await deps.env.AUTH_DB.prepare(FAMILY_SQL).bind(claims.sid, Date.now()).first<FamilyRow>();
  if (!family || family.user_id !== claims.sub) return null;
  const user = await userNow(deps.env, family.user_row);
  if (!user) return null;
  const inToken = typeof (claims as { scope?: unknown }).scope === 'string' ? ((claims as { scope?: string }).scope ?? '').split(' ') : [];
  const issued = (JSON.parse(family.scopes) as string[]).filter((s) => inToken.includes(s));
  return { sub: family.user_id, clientId: family.client_id, scopes: effectiveScopes(issued, user.permissions), familyPublicId: family.family_id, claims };
}

/**
 * RFC 7009: revokes the family behind a refresh token or an access token of this client. Unknown
 * tokens, or another client's, change nothing (the caller always gets 200).
 */
export async function revokeToken(deps: OAuthDeps, client: ClientRow, token: string): Promise<void> {
  let familyPublicId: string | null;
  if (REFRESH.test(token)) {
    const row = await deps.db.auth.select({ publicId: oauthTokenFamilies.publicId }).from(oauthTokenFamilies).where(eq(oauthTokenFamilies.refreshHash, await sha256Hex(token))).get();
    familyPublicId = row?.publicId ?? null;
  } else {
    const active = await checkAccessToken(deps, token);
    familyPublicId = active && active.clientId === client.publicId ? active.familyPublicId : null;
  }
  if (!familyPublicId) return;
  await deps.db.auth
    .update(oauthTokenFamilies)
    .set({ revokedAt: new Date(), revokedReason: 'client_revoked' })
    .where(
      and(
        eq(oauthTokenFamilies.publicId, familyPublicId),
        isNull(oauthTokenFamilies.revokedAt),
        sql`${oauthTokenFamilies.grantId} IN (SELECT id FROM oauth_grants WHERE client_id = ${client.id})`,
      ),
    );
}
