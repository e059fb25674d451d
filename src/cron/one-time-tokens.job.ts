import { changes, inChunks, type Job } from './job';

const CHUNK = 1000;

/** Expired verification and reset tokens (1 h lifetime; used ones expire just the same). */
export const cleanupOneTimeTokens: Job = ({ env, now }) =>
  inChunks(
    async () =>
      changes(
        await env.AUTH_DB.prepare(`DELETE FROM one_time_tokens WHERE id IN (SELECT id FROM one_time_tokens WHERE expires_at < ?1 LIMIT ${CHUNK})`)
          .bind(now)
          .run(),
      ),
    { chunkSize: CHUNK, maxChunks: 10 },
  );
