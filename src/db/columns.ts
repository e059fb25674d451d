import { integer, text } from 'drizzle-orm/sqlite-core';
import { uuidv7 } from 'uuidv7';

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
