import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns } from '../columns';
import { users } from './auth';

// AUTH_DB's two-factor tables (drizzle.config.ts lists this file for DRIZZLE_DB=auth).

/** TOTP second factor: the secret is AES-GCM encrypted with MFA_ENCRYPTION_KEY. */
export const mfaTotp = sqliteTable(
  'mfa_totp',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretCiphertext: text().notNull(),
    enabledAt: integer({ mode: 'timestamp_ms' }),
    /** Last accepted TOTP time step: a code is never accepted twice (replay). */
    lastCounter: integer().notNull().default(0),
  },
  (t) => [uniqueIndex('mfa_totp_user_uq').on(t.userId)],
);

/** Single-use MFA recovery codes, hashed. */
export const mfaRecoveryCodes = sqliteTable(
  'mfa_recovery_codes',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text().notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('mfa_recovery_codes_hash_uq').on(t.codeHash), index('mfa_recovery_codes_user_idx').on(t.userId)],
);

/**
 * The second step of a password sign-in with two-factor on, for a passkey: minted when the
 * password was right and no code came with it. `tokenHash` is the SHA-256 of the opaque token
 * returned in the MFA_REQUIRED answer; `webauthnChallenge` is set by the options call (a new one
 * per call) and the row is spent by the verify call: single use, 5 minutes, one user.
 */
export const mfaChallenges = sqliteTable(
  'mfa_challenges',
  {
    ...baseColumns(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    webauthnChallenge: text(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    usedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('mfa_challenges_token_hash_uq').on(t.tokenHash), index('mfa_challenges_user_idx').on(t.userId), index('mfa_challenges_expires_at_idx').on(t.expiresAt)],
);
