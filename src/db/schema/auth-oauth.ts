// AUTH_DB tables of the OAuth 2.1 / OpenID Connect provider (src/features/oauth): clients,
// remembered grants, authorization codes, refresh families and spent refresh tokens. Same
// database as auth.ts (drizzle.config.ts lists both files for DRIZZLE_DB=auth).
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns, softDeleteColumn } from '../columns';
import { users } from './auth';

/**
 * OAuth 2.1 clients registered by admins (src/features/oauth). `publicId` is the `client_id`.
 * Confidential clients hold a secret, stored only as a SHA-256 hash; public clients have none
 * and must use PKCE (every client must: S256 only). Redirect URIs are matched exactly.
 */
export const oauthClients = sqliteTable(
  'oauth_clients',
  {
    ...baseColumns(),
    ...softDeleteColumn(),
    name: text().notNull(),
    type: text({ enum: ['confidential', 'public'] }).notNull(),
    secretHash: text(),
    redirectUris: text({ mode: 'json' }).$type<string[]>().notNull(),
    /** The scopes this client may ask for (OIDC scopes and permissions). */
    scopes: text({ mode: 'json' }).$type<string[]>().notNull(),
    createdBy: integer().references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('oauth_clients_deleted_at_idx').on(t.deletedAt), index('oauth_clients_created_by_idx').on(t.createdBy)],
);

/** A user's remembered consent to a client: revoking it stops every token issued under it at once. */
export const oauthGrants = sqliteTable(
  'oauth_grants',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: integer()
      .notNull()
      .references(() => oauthClients.id, { onDelete: 'cascade' }),
    scopes: text({ mode: 'json' }).$type<string[]>().notNull(),
    revokedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('oauth_grants_user_client_uq').on(t.userId, t.clientId), index('oauth_grants_client_idx').on(t.clientId), index('oauth_grants_revoked_at_idx').on(t.revokedAt)],
);

/** Authorization codes: hashed, single use, 60 s; the family a code issued points back at it (revoked on replay). */
export const oauthCodes = sqliteTable(
  'oauth_codes',
  {
    ...baseColumns(),
    codeHash: text().notNull(),
    grantId: integer()
      .notNull()
      .references(() => oauthGrants.id, { onDelete: 'cascade' }),
    redirectUri: text().notNull(),
    codeChallenge: text().notNull(),
    scopes: text({ mode: 'json' }).$type<string[]>().notNull(),
    nonce: text(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('oauth_codes_hash_uq').on(t.codeHash), index('oauth_codes_grant_idx').on(t.grantId), index('oauth_codes_expires_at_idx').on(t.expiresAt)],
);

/** A refresh-token family of one grant (like `sessions`): the current token's hash, rotation, reuse detection. */
export const oauthTokenFamilies = sqliteTable(
  'oauth_token_families',
  {
    ...baseColumns(),
    grantId: integer()
      .notNull()
      .references(() => oauthGrants.id, { onDelete: 'cascade' }),
    /** The code that opened the family: unique, so a code issues at most one family even under races. */
    codeId: integer(),
    scopes: text({ mode: 'json' }).$type<string[]>().notNull(),
    refreshHash: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    revokedAt: integer({ mode: 'timestamp_ms' }),
    revokedReason: text(),
  },
  (t) => [
    uniqueIndex('oauth_token_families_code_uq').on(t.codeId),
    uniqueIndex('oauth_token_families_refresh_uq').on(t.refreshHash), index('oauth_token_families_grant_idx').on(t.grantId), index('oauth_token_families_expires_at_idx').on(t.expiresAt),
  ],
);

/** Spent OAuth refresh tokens: presenting one again revokes its family. */
export const oauthSpentRefreshTokens = sqliteTable(
  'oauth_spent_refresh_tokens',
  {
    ...baseColumns(),
    familyId: integer()
      .notNull()
      .references(() => oauthTokenFamilies.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
  },
  (t) => [uniqueIndex('oauth_spent_refresh_tokens_hash_uq').on(t.tokenHash), index('oauth_spent_refresh_tokens_family_idx').on(t.familyId)],
);
