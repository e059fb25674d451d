import { index, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns, softDeleteColumn } from '../columns';

/** Non-auth user data. Keyed by the user's public id: the two databases share no integer keys. */
export const profiles = sqliteTable(
  'profiles',
  {
    ...baseColumns(),
    ...softDeleteColumn(),
    userPublicId: text().notNull(),
    fullName: text(),
    locale: text(),
    timeZone: text(),
  },
  (t) => [uniqueIndex('profiles_user_public_id_uq').on(t.userPublicId), index('profiles_deleted_at_idx').on(t.deletedAt)],
);
