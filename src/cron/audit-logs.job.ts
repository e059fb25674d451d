import { deleteAuditLogsBefore } from '../features/logs/logs.repository';
import { changes, DAY_MS, inChunks, type Job } from './job';

const CHUNK = 1000;

/** Audit and event logs older than RETENTION_LOGS_DAYS, oldest first. */
export const cleanupAuditLogs: Job = ({ db, now, config }) =>
  inChunks(async () => changes(await deleteAuditLogsBefore(db.logs, new Date(now - config.retention.logsDays * DAY_MS), CHUNK)), { chunkSize: CHUNK, maxChunks: 20 });
