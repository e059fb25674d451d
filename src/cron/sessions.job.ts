import { deadSession, deleteDeadSessions, deleteSpentTokens, type DeadSessionAt } from '../features/auth/sessions.repository';
import { changes, DAY_MS, inChunks, merge, type Job } from './job';

export const SESSIONS_CHUNK = 500;
export const SPENT_TOKENS_CHUNK = 1000;
export const SESSIONS_MAX_CHUNKS = 20;
/** Revoked sessions are kept a day: recent revocations stay visible to reuse detection and support. */
export const REVOKED_GRACE_MS = DAY_MS;

/**
 * Expired, idle and long-revoked sessions (refresh-token families) and their spent refresh
 * tokens. Spent tokens go first, in their own chunks: one long-lived session can own
 * thousands, and a cascade from a 500-session delete could be unbounded. A session is
 * deleted only once it has no spent tokens left, so every statement stays bounded.
 */
export const cleanupSessions: Job = async ({ db, now, config }) => {
  // Idle uses SESSION_IDLE_TTL, the cutoff refresh refuses a session with. Live sessions never match.
  const dead: DeadSessionAt = { now: new Date(now), idleBefore: new Date(now - config.sessionIdleTtlMs), revokedBefore: new Date(now - REVOKED_GRACE_MS) };
  const spent = await inChunks(async () => changes(await deleteSpentTokens(db.auth, deadSession(dead), SPENT_TOKENS_CHUNK)), {
    chunkSize: SPENT_TOKENS_CHUNK,
    maxChunks: SESSIONS_MAX_CHUNKS,
  });
  const sessions = await inChunks(async () => changes(await deleteDeadSessions(db.auth, dead, SESSIONS_CHUNK)), {
    chunkSize: SESSIONS_CHUNK,
    maxChunks: SESSIONS_MAX_CHUNKS,
  });
  return merge([spent, sessions], { spentRefreshTokens: spent.affected, sessions: sessions.affected });
};
