import { and, inArray, isNull } from 'drizzle-orm';
import { createDatabases } from '../../db/client';
import { users } from '../../db/schema/auth';
import { defineSearchIndex, type SearchDocument } from '../../lib/search-index';
import { loadProfiles } from './users.service';

/**
 * Users in the search index: the full name (title) and the email (body), for holders of
 * users:read. Rebuilt after every audited change of a user's name, email or existence; a deleted
 * user leaves the index (restored: back in it).
 */
export const usersSearchIndex = defineSearchIndex({
  type: 'users',
  permission: 'users:read',
  actions: ['auth.register', 'user.update', 'user.delete', 'user.restore', 'auth.email_change', 'auth.email_verify'],
  load: async (env, ids) => {
    const db = createDatabases(env);
    const out = new Map<string, SearchDocument | null>();
    for (let i = 0; i < ids.length; i += 90) {
      const chunk = ids.slice(i, i + 90);
      const rows = await db.auth.select({ publicId: users.publicId, email: users.email }).from(users).where(and(inArray(users.publicId, chunk), isNull(users.deletedAt)));
      // Live users only: loadProfiles repairs a missing profile, which a deleted user must not get.
      const names = await loadProfiles(db, rows.map((r) => r.publicId));
      for (const r of rows) out.set(r.publicId, { title: names.get(r.publicId) ?? r.email, body: r.email });
    }
    return out;
  },
});
