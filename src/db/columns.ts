import { integer, text } from 'drizzle-orm/sqlite-core';
import { uuidv7 } from '../lib/uuid';

/**
 * The base columns every table carries (SPEC "Data stores"): an internal integer key that
 * never leaves the database, a sortable public id (UUIDv7) used in every API response,
 * and UTC timestamps in milliseconds.
 */
export const baseColumns = () => ({
  id: integer().primaryKey({ autoIncrement: true }),
  publicId: text()
    .notNull()
    .unique()
    .$defaultFn(() => uuidv7()),
  createdAt: integer({ mode: 'timestamp_ms' })
    .notNull()
    .$defaultFn(() => new Date()),
  updatedAt: integer({ mode: 'timestamp_ms' })
    .notNull()
    .$defaultFn(() => new Date())
    .$onUpdateFn(() => new Date()),
});

/** Soft delete: present only on tables where a row is hidden before it is purged. */
export const softDeleteColumn = () => ({
  deletedAt: integer({ mode: 'timestamp_ms' }),
});

/** The SQL name of an APP_DB row's owner column (the user's public id). */
export const USER_REF = 'user_public_id';

/**
 * The owner of an APP_DB row: the user's public id (the databases share no integer keys).
 * Declaring the owner with userRef() is what puts a table in the account-deletion purge
 * (users-purge.repository.ts finds user data by this column); the name is pinned so the purge,
 * the schema and test/cron/user-purge-coverage.test.ts agree on it.
 */
export const userRef = () => text(USER_REF).notNull();
