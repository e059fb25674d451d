import { changes, DAY_MS, inChunks, merge, type Job } from './job';

export const SESSIONS_CHUNK = 500;
export const SPENT_TOKENS_CHUNK = 1000;
export const SESSIONS_MAX_CHUNKS = 20;
/** Revoked sessions are kept a day: recent revocations stay visible to reuse detection and support. */
export const REVOKED_GRACE_MS = DAY_MS;

// A session is dead when it expired, sat idle past SESSION_IDLE_TTL (refresh refuses it with
// the same cutoff), or was revoked more than the grace period ago. Live sessions never match.
const DEAD = 's.expires_at < ?1 OR s.last_used_at < ?2 OR s.revoked_at < ?3';

/**
 * Expired, idle and long-revoked sessions (refresh-token families) and their spent refresh
 * tokens. Spent tokens go first, in their own chunks: one long-lived session can own
 * thousands, and a cascade from a 500-session delete could be unbounded. A session is
 * deleted only once it has no spent tokens left, so every statement stays bounded.
 */
export const cleanupSessions: Job = async ({ env, now, config }) => {
  const params = [now, now - config.sessionIdleTtlMs, now - REVOKED_GRACE_MS];
  const spent = await inChunks(
    async () =>
      changes(
        await env.AUTH_DB.prepare(
          `DELETE FROM spent_refresh_tokens WHERE id IN (
             SELECT st.id FROM spent_refresh_tokens st JOIN sessions s ON s.id = st.session_id WHERE ${DEAD} LIMIT ${SPENT_TOKENS_CHUNK})`,
        )
          .bind(...params)
          .run(),
      ),
    { chunkSize: SPENT_TOKENS_CHUNK, maxChunks: SESSIONS_MAX_CHUNKS },
  );
  const sessions = await inChunks(
    async () =>
      changes(
        await env.AUTH_DB.prepare(
          `DELETE FROM sessions WHERE id IN (
             SELECT s.id FROM sessions s WHERE (${DEAD})
               AND NOT EXISTS (SELECT 1 FROM spent_refresh_tokens st WHERE st.session_id = s.id)
             LIMIT ${SESSIONS_CHUNK})`,
        )
          .bind(...params)
          .run(),
      ),
    { chunkSize: SESSIONS_CHUNK, maxChunks: SESSIONS_MAX_CHUNKS },
  );
  return merge([spent, sessions], { spentRefreshTokens: spent.affected, sessions: sessions.affected });
};
