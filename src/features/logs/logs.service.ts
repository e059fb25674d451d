import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { auditLogs } from '../../db/schema/logs';
import { encodeCursor, type CursorData, type Page } from '../../lib/pagination';

export interface LogFilters {
  limit: number;
  cursor?: CursorData;
  level?: 'info' | 'warn' | 'error';
  action?: string;
  actorId?: string;
  targetId?: string;
  outcome?: 'success' | 'failure';
  from?: Date;
  to?: Date;
}

/** Newest first by (occurred_at, public id): a keyset, so pages stay stable as events arrive. */
export async function listLogs(db: Databases, f: LogFilters): Promise<Page<Record<string, unknown>>> {
  const where: SQL[] = [];
  if (f.level) where.push(eq(auditLogs.level, f.level));
  if (f.action) where.push(eq(auditLogs.action, f.action));
  if (f.actorId) where.push(eq(auditLogs.actorId, f.actorId));
  if (f.targetId) where.push(eq(auditLogs.targetId, f.targetId));
  if (f.outcome) where.push(eq(auditLogs.outcome, f.outcome));
  if (f.from) where.push(gte(auditLogs.occurredAt, f.from));
  if (f.to) where.push(lte(auditLogs.occurredAt, f.to));
  if (f.cursor && f.cursor.k !== undefined) {
    const at = new Date(f.cursor.k);
    where.push(or(lt(auditLogs.occurredAt, at), and(eq(auditLogs.occurredAt, at), lt(auditLogs.publicId, f.cursor.id)))!);
  }
  const rows = await db.logs
    .select()
    .from(auditLogs)
    .where(and(...where))
    .orderBy(desc(auditLogs.occurredAt), desc(auditLogs.publicId))
    .limit(f.limit + 1);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    data: page.map((r) => ({
      id: r.publicId,
      occurredAt: r.occurredAt.toISOString(),
      level: r.level,
      action: r.action,
      outcome: r.outcome,
      actorId: r.actorId,
      targetId: r.targetId,
      requestId: r.requestId,
      ip: r.ip,
      userAgent: r.userAgent,
      details: r.details ?? null,
    })),
    nextCursor: rows.length > f.limit && last ? encodeCursor({ k: last.occurredAt.getTime(), id: last.publicId }) : null,
  };
}
