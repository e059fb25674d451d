import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns } from '../columns';

/** Audit and application events. `eventId` makes queue redelivery idempotent. */
export const auditLogs = sqliteTable(
  'audit_logs',
  {
    ...baseColumns(),
    eventId: text().notNull(),
    occurredAt: integer({ mode: 'timestamp_ms' }).notNull(),
    level: text({ enum: ['info', 'warn', 'error'] }).notNull(),
    action: text().notNull(),
    outcome: text({ enum: ['success', 'failure'] }).notNull(),
    actorId: text(),
    targetId: text(),
    requestId: text(),
    ip: text(),
    userAgent: text(),
    details: text({ mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [
    uniqueIndex('audit_logs_event_id_uq').on(t.eventId),
    index('audit_logs_occurred_at_idx').on(t.occurredAt, t.publicId),
    index('audit_logs_action_idx').on(t.action, t.occurredAt),
    index('audit_logs_actor_idx').on(t.actorId, t.occurredAt),
    index('audit_logs_target_idx').on(t.targetId, t.occurredAt),
    index('audit_logs_level_idx').on(t.level, t.occurredAt),
  ],
);
