import { changes, inChunks, type Job } from './job';

const CHUNK = 1000;

const sweep = (db: D1Database, table: 'one_time_tokens' | 'sms_consent_proofs', now: number) =>
  inChunks(async () => changes(await db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expires_at < ?1 LIMIT ${CHUNK})`).bind(now).run()), {
    chunkSize: CHUNK,
    maxChunks: 10,
  });

/**
 * Expired single-use codes: verification and reset tokens in AUTH_DB (1 h lifetime; used ones
 * expire just the same) and SMS consent codes in APP_DB (10 min; they hold a phone number).
 */
export const cleanupOneTimeTokens: Job = async ({ env, now }) => {
  const tokens = await sweep(env.AUTH_DB, 'one_time_tokens', now);
  const smsCodes = await sweep(env.APP_DB, 'sms_consent_proofs', now);
  return {
    affected: tokens.affected + smsCodes.affected,
    chunks: tokens.chunks + smsCodes.chunks,
    done: tokens.done && smsCodes.done,
    details: { tokens: tokens.affected, smsCodes: smsCodes.affected },
  };
};
