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
export const purgeDeletedUsers: Job = async ({ env, now, config }) => {
  const cutoff = now - config.retention.deletedUsersDays * DAY_MS;
  const totals = { users: 0, authRows: 0, appRows: 0 };
  let chunks = 0;
  const result = (done: boolean): JobResult => ({ affected: totals.users, chunks, done, details: totals });
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const { results } = await env.AUTH_DB.prepare('SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < ?1 ORDER BY deleted_at LIMIT ?2')
      .bind(cutoff, USERS_PER_ROUND)
      .all<{ id: number }>();
    chunks += 1;
    if (results.length === 0) return result(true);
    const ids = results.map((r) => r.id);
    // ?1 is the cutoff; the ids follow (≤ 51 bound parameters per statement).
    const list = ids.map((_, i) => `?${i + 2}`).join(', ');
    const stillDeleted = `SELECT id FROM users WHERE id IN (${list}) AND deleted_at IS NOT NULL AND deleted_at < ?1`;
    const spent = await inChunks(
      async () =>
        changes(
          await env.AUTH_DB.prepare(
            `DELETE FROM spent_refresh_tokens WHERE id IN (
               SELECT st.id FROM spent_refresh_tokens st JOIN sessions s ON s.id = st.session_id WHERE s.user_id IN (${stillDeleted}) LIMIT 1000)`,
          )
            .bind(cutoff, ...ids)
            .run(),
        ),
      { chunkSize: 1000, maxChunks: 20 },
    );
    chunks += spent.chunks;
    totals.authRows += spent.affected;
    if (!spent.done) return result(false);
    const [sessions, roles, users] = await env.AUTH_DB.batch<{ public_id: string }>([
      env.AUTH_DB.prepare(`DELETE FROM sessions WHERE user_id IN (${stillDeleted})`).bind(cutoff, ...ids),
      env.AUTH_DB.prepare(`DELETE FROM user_roles WHERE user_id IN (${stillDeleted})`).bind(cutoff, ...ids),
      env.AUTH_DB.prepare(`DELETE FROM users WHERE id IN (${stillDeleted}) RETURNING public_id`).bind(cutoff, ...ids),
    ]);
    chunks += 1;
    const purged = (users?.results ?? []).map((r) => r.public_id);
    totals.users += purged.length;
    totals.authRows += changes(sessions!) + changes(roles!) + purged.length;
    const app = await purgeAppUserData(env.APP_DB, purged);
    chunks += app.chunks;
    totals.appRows += app.deleted;
    if (!app.done) return result(false);
    if (results.length < USERS_PER_ROUND) return result(true);
  }
  return result(false);
};
