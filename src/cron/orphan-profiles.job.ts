import { existingUserPublicIds, profilesAfter } from '../features/users/users-purge.repository';
import { purgeAppUserData } from './app-user-data';
import { HOUR_MS, type Job } from './job';

/** KV key of the sweep's position (a profile id); losing it only means rescanning. */
export const ORPHAN_CURSOR_KEY = 'cron:orphan-profiles:cursor';
const PAGE = 90;
const MAX_PAGES = 20;
/** Older than any in-flight registration (createUserWithProfile writes the profile first). */
export const ORPHAN_MIN_AGE_MS = HOUR_MS;

/**
 * The repair path of the two-database write: a profile whose user does not exist in AUTH_DB
 * (the AUTH_DB batch failed and so did the compensation, or a hard delete was cut short)
 * is removed with the rest of that user's APP_DB data. Scans profiles by id, 90 at a time
 * (one AUTH_DB lookup of ≤ 90 bound ids each), resuming where the previous run stopped.
 */
export const cleanupOrphanProfiles: Job = async ({ env, db, now }) => {
  let cursor = Number(await env.CACHE.get(ORPHAN_CURSOR_KEY)) || 0;
  let orphans = 0;
  let rowsDeleted = 0;
  let scanned = 0;
  let chunks = 0;
  let done = false;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const results = await profilesAfter(db.app, cursor, new Date(now - ORPHAN_MIN_AGE_MS), PAGE);
    chunks += 1;
    if (results.length > 0) {
      const ids = results.map((r) => r.userPublicId);
      const existing = await existingUserPublicIds(db.auth, ids);
      const missing = [...new Set(ids.filter((id) => !existing.has(id)))];
      if (missing.length > 0) {
        const r = await purgeAppUserData(db.app, missing);
        rowsDeleted += r.deleted;
        chunks += r.chunks;
        orphans += missing.length;
        if (!r.done) break; // keep the cursor: the same page is finished next run
      }
      scanned += results.length;
      cursor = results[results.length - 1]!.id;
    }
    if (results.length < PAGE) {
      cursor = 0;
      done = true;
      break;
    }
  }
  await env.CACHE.put(ORPHAN_CURSOR_KEY, String(cursor));
  return { affected: orphans, chunks, done, details: { scanned, orphans, rowsDeleted } };
};
