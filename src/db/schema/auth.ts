import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns, softDeleteColumn } from '../columns';

export const users = sqliteTable(
  'users',
  {
    ...baseColumns(),
    ...softDeleteColumn(),
    /** Normalised (trimmed, lower-cased) so variants are one account. */
    email: text().notNull(),
    /** PHC string: algorithm and parameters travel with the hash. */
    passwordHash: text().notNull(),
    emailVerifiedAt: integer({ mode: 'timestamp_ms' }),
    /** Consecutive failed logins and the temporary lock they cause (never permanent). */
    failedLoginCount: integer().notNull().default(0),
    loginLockedUntil: integer({ mode: 'timestamp_ms' }),
    passwordChangedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('users_email_uq').on(t.email),
    index('users_created_at_idx').on(t.createdAt),
    index('users_deleted_at_idx').on(t.deletedAt),
  ],
);

export const roles = sqliteTable(
  'roles',
  {
    ...baseColumns(),
    name: text().notNull(),
    description: text().notNull().default(''),
    /** JSON array of `resource:action` strings. */
    permissions: text({ mode: 'json' }).$type<string[]>().notNull(),
    builtIn: integer({ mode: 'boolean' }).notNull().default(false),
  },
  (t) => [uniqueIndex('roles_name_uq').on(t.name)],
);

export const userRoles = sqliteTable(
  'user_roles',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: integer()
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
  },
  (t) => [uniqueIndex('user_roles_user_role_uq').on(t.userId, t.roleId), index('user_roles_role_idx').on(t.roleId)],
);

/**
 * One row per login (a refresh-token family). The current refresh token is stored only as a
 * SHA-256 hash; rotation is a single conditional UPDATE, so two concurrent refreshes of one
 * token have exactly one winner.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    refreshHash: text().notNull(),
    generation: integer().notNull().default(0),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer({ mode: 'timestamp_ms' }).notNull(),
    revokedAt: integer({ mode: 'timestamp_ms' }),
    revokedReason: text(),
    userAgent: text(),
    ipPrefix: text(),
    /** The device (see src/security/device-token.ts) that opened the session; refresh retries are bound to it. */
    deviceId: text(),
  },
  (t) => [
    index('sessions_user_idx').on(t.userId),
    index('sessions_expires_at_idx').on(t.expiresAt),
    index('sessions_last_used_at_idx').on(t.lastUsedAt),
    index('sessions_revoked_at_idx').on(t.revokedAt),
  ],
);

/** Hashes of refresh tokens already spent: presenting one again revokes the family. */
export const spentRefreshTokens = sqliteTable(
  'spent_refresh_tokens',
  {
    ...baseColumns(),
    sessionId: integer()
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
  },
  (t) => [uniqueIndex('spent_refresh_tokens_hash_uq').on(t.tokenHash), index('spent_refresh_tokens_session_idx').on(t.sessionId)],
);

/**
 * API keys for service-to-service calls: `ubr_<prefix>_<secret>`. The prefix identifies the key
 * (shown in lists and logs); only a SHA-256 of the whole key is stored. Scoped to permissions.
 */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    prefix: text().notNull(),
    keyHash: text().notNull(),
    permissions: text({ mode: 'json' }).$type<string[]>().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }),
    lastUsedAt: integer({ mode: 'timestamp_ms' }),
    revokedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('api_keys_prefix_uq').on(t.prefix), index('api_keys_user_idx').on(t.userId), index('api_keys_expires_at_idx').on(t.expiresAt)],
);

/** Hashed single-use tokens (email verification, password reset, email change). */
export const oneTimeTokens = sqliteTable(
  'one_time_tokens',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text({ enum: ['verify_email', 'reset_password', 'change_email'] }).notNull(),
    tokenHash: text().notNull(),
    /** For change_email: the new, normalised address the token confirms. */
    newEmail: text(),
    /** For change_email: the session that asked; it survives the switch, every other session ends. */
    sessionId: integer(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('one_time_tokens_hash_uq').on(t.tokenHash),
    index('one_time_tokens_user_purpose_idx').on(t.userId, t.purpose),
    index('one_time_tokens_expires_at_idx').on(t.expiresAt),
  ],
);

/**
 * WebAuthn credentials (passkeys). The credential id and COSE public key are base64url; the
 * signature counter only moves forward (a regression is refused as a cloned authenticator).
 */
export const passkeys = sqliteTable(
  'passkeys',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    credentialId: text().notNull(),
    publicKey: text().notNull(),
    counter: integer().notNull().default(0),
    transports: text({ mode: 'json' }).$type<string[]>().notNull(),
    name: text().notNull(),
    /** singleDevice | multiDevice (synced), and whether it is backed up now. */
    deviceType: text().notNull(),
    backedUp: integer({ mode: 'boolean' }).notNull().default(false),
    aaguid: text().notNull(),
    lastUsedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('passkeys_credential_id_uq').on(t.credentialId), index('passkeys_user_idx').on(t.userId)],
);

/**
 * One WebAuthn ceremony's challenge: single use (spent by a conditional UPDATE before the
 * response is checked), 5 minutes, bound to its kind and, for registration, to the user.
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    ...baseColumns(),
    ceremony: text({ enum: ['register', 'login'] }).notNull(),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    challenge: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [index('webauthn_challenges_expires_at_idx').on(t.expiresAt)],
);

/**
 * Passwordless email sign-in (6-digit code or magic link). `flowHash` is the SHA-256 of the
 * opaque flow id returned to the client that asked; `secretHash` hashes the mailed secret
 * together with the flow id, so a code only completes the flow it was sent for (and a leaked
 * table cannot be brute-forced without the flow id). `userId` is null for an unknown email: the
 * flow exists (same answer), nothing is mailed, it can never complete.
 */
export const passwordlessFlows = sqliteTable(
  'passwordless_flows',
  {
    ...baseColumns(),
    method: text({ enum: ['email_otp', 'magic_link'] }).notNull(),
    flowHash: text().notNull(),
    secretHash: text().notNull(),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    attempts: integer().notNull().default(0),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('passwordless_flows_flow_hash_uq').on(t.flowHash), index('passwordless_flows_expires_at_idx').on(t.expiresAt)],
);

/**
 * Social sign-in identities: provider + subject is the key (never the email, which the provider
 * may let its user change). Provider access/refresh tokens are not stored (we call no provider
 * API after sign-in), so there is nothing to leak here but the link itself.
 */
export const oauthIdentities = sqliteTable(
  'oauth_identities',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    subject: text().notNull(),
    /** The provider's email at the last sign-in, for display only (never used to match). */
    email: text(),
    emailVerified: integer({ mode: 'boolean' }).notNull().default(false),
    lastLoginAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('oauth_identities_provider_subject_uq').on(t.provider, t.subject), index('oauth_identities_user_idx').on(t.userId)],
);

/**
 * Short-lived single-use social sign-in records, only hashes of their keys stored:
 * - `flow`: an authorization request (key: the state; PKCE verifier, nonce, redirectTo, and the
 *   hash of the browser cookie it is bound to), 10 min.
 * - `native_nonce`: a nonce already spent by a native id-token sign-in (replay guard), 10 min.
 * - `exchange`: the one-time code the callback hands to redirectTo, for a token pair, 2 min.
 * - `link`: a pending link (same verified email as an existing account), consumed by that
 *   account once signed in, 10 min.
 * Consumed by one conditional UPDATE, so two concurrent uses have exactly one winner.
 */
export const oauthTickets = sqliteTable(
  'oauth_tickets',
  {
    ...baseColumns(),
    kind: text({ enum: ['flow', 'native_nonce', 'exchange', 'link'] }).notNull(),
    keyHash: text().notNull(),
    provider: text().notNull(),
    /** JSON payload of the kind (never a provider token). */
    data: text({ mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('oauth_tickets_key_uq').on(t.keyHash), index('oauth_tickets_expires_at_idx').on(t.expiresAt)],
);
