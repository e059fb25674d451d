import { inArray, lt } from 'drizzle-orm';
import type { LogsDb } from '../../db/client';
import { auditLogs } from '../../db/schema/logs';

/** Audit and event logs that occurred before `before`, oldest first, at most `limit` (index on occurred_at). */
export function deleteAuditLogsBefore(db: LogsDb, before: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: auditLogs.id }).from(auditLogs).where(lt(auditLogs.occurredAt, before)).orderBy(auditLogs.occurredAt).limit(limit);
  return db.delete(auditLogs).where(inArray(auditLogs.id, batch));
}
