import type { AppDb } from '../db/client';
import { deleteUserRows, USER_DATA_TABLES } from '../features/users/users-purge.repository';
import { changes, inChunks } from './job';

const CHUNK = 1000;

/**
 * Hard-deletes every APP_DB row of the given users (≤ 90 ids: D1 binds at most 100
 * parameters), table by table in the order of USER_DATA_TABLES (found in the schema; profiles
 * last). Each table in bounded chunks, since one user may own many notifications.
 * Returns rows deleted; `done` false when the budget ran out (the next run continues).
 */
export async function purgeAppUserData(db: AppDb, userPublicIds: string[], maxChunksPerTable = 20): Promise<{ deleted: number; chunks: number; done: boolean }> {
  if (userPublicIds.length === 0) return { deleted: 0, chunks: 0, done: true };
  if (userPublicIds.length > 90) throw new Error('purgeAppUserData: at most 90 users per call');
  let deleted = 0;
  let chunks = 0;
  for (const table of USER_DATA_TABLES) {
    const r = await inChunks(async () => changes(await deleteUserRows(db, table, userPublicIds, CHUNK)), { chunkSize: CHUNK, maxChunks: maxChunksPerTable });
    deleted += r.affected;
    chunks += r.chunks;
    if (!r.done) return { deleted, chunks, done: false };
  }
  return { deleted, chunks, done: true };
}
