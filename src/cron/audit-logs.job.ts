import { changes, DAY_MS, inChunks, type Job } from './job';

const CHUNK = 1000;

/** Audit and event logs older than RETENTION_LOGS_DAYS, oldest first (index on occurred_at). */
export const cleanupAuditLogs: Job = ({ env, now, config }) =>
  inChunks(
    async () =>
      changes(
        await env.LOGS_DB.prepare(`DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE occurred_at < ?1 ORDER BY occurred_at LIMIT ${CHUNK})`)
          .bind(now - config.retention.logsDays * DAY_MS)
          .run(),
      ),
    { chunkSize: CHUNK, maxChunks: 20 },
  );
