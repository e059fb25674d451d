import { deleteSpentTokens } from '../features/auth/sessions.repository';
import { deleteDeletedUsers, findUsersDeletedBefore, sessionsOfDeletedUsers } from '../features/users/users-purge.repository';
import { purgeAppUserData } from './app-user-data';
import { changes, DAY_MS, inChunks, type Job, type JobResult } from './job';

export const USERS_PER_ROUND = 50;
const MAX_ROUNDS = 5;

/**
 * Hard delete (privacy) of users soft-deleted more than RETENTION_DELETED_USERS_DAYS ago,
 * across the databases: AUTH_DB first (spent refresh tokens in chunks, then sessions, role
 * links and the user in one batch that re-checks `deleted_at`, so a restore in between wins;
 * API keys, MFA and one-time tokens follow by FK cascade), then the user's APP_DB rows.
 * If the APP_DB part is cut short, the profile (deleted last) is left as an orphan and the
 * orphan sweep finishes the job.
 *
 * LOGS_DB is left as is, on purpose: audit rows are security records kept under legitimate
 * interest for RETENTION_LOGS_DAYS and then deleted; they carry random UUIDs that resolve to
 * nobody once the user row is gone, and emails in them are masked at write time.
 */
export const purgeDeletedUsers: Job = async ({ db, now, config }) => {
  const cutoff = new Date(now - config.retention.deletedUsersDays * DAY_MS);
  const totals = { users: 0, authRows: 0, appRows: 0 };
  let chunks = 0;
  const result = (done: boolean): JobResult => ({ affected: totals.users, chunks, done, details: totals });
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const ids = await findUsersDeletedBefore(db.auth, cutoff, USERS_PER_ROUND);
    chunks += 1;
    if (ids.length === 0) return result(true);
    const spent = await inChunks(async () => changes(await deleteSpentTokens(db.auth, sessionsOfDeletedUsers(db.auth, ids, cutoff), 1000)), { chunkSize: 1000, maxChunks: 20 });
    chunks += spent.chunks;
    totals.authRows += spent.affected;
    if (!spent.done) return result(false);
    const deleted = await deleteDeletedUsers(db.auth, ids, cutoff);
    chunks += 1;
    totals.users += deleted.publicIds.length;
    totals.authRows += deleted.sessions + deleted.roles + deleted.publicIds.length;
    const app = await purgeAppUserData(db.app, deleted.publicIds);
    chunks += app.chunks;
    totals.appRows += app.deleted;
    if (!app.done) return result(false);
    if (ids.length < USERS_PER_ROUND) return result(true);
  }
  return result(false);
};
