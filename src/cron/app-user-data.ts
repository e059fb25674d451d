import { changes, inChunks } from './job';

// Profile last: it is the marker the orphan sweep finds, so a run cut short half-way is
// finished by the next run (orphan-profiles.job.ts).
const APP_TABLES = ['notifications', 'notification_preferences', 'devices', 'sms_consents', 'sms_consent_proofs', 'profiles'] as const;
const CHUNK = 1000;

/**
 * Hard-deletes every APP_DB row of the given users (≤ 90 ids: D1 binds at most 100
 * parameters). Each table in bounded chunks, since one user may own many notifications.
 * Returns rows deleted; `done` false when the budget ran out (the next run continues).
 */
export async function purgeAppUserData(db: D1Database, userPublicIds: string[], maxChunksPerTable = 20): Promise<{ deleted: number; chunks: number; done: boolean }> {
  if (userPublicIds.length === 0) return { deleted: 0, chunks: 0, done: true };
  if (userPublicIds.length > 90) throw new Error('purgeAppUserData: at most 90 users per call');
  const placeholders = userPublicIds.map((_, i) => `?${i + 1}`).join(', ');
  let deleted = 0;
  let chunks = 0;
  for (const table of APP_TABLES) {
    const r = await inChunks(
      async () => changes(await db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE user_public_id IN (${placeholders}) LIMIT ${CHUNK})`).bind(...userPublicIds).run()),
      { chunkSize: CHUNK, maxChunks: maxChunksPerTable },
    );
    deleted += r.affected;
    chunks += r.chunks;
    if (!r.done) return { deleted, chunks, done: false };
  }
  return { deleted, chunks, done: true };
}
