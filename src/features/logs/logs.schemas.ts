import * as z from 'zod/mini';
import { Cursor, Limit, pageSchema, QueryDate } from '../../lib/pagination';
import { definePermissions } from '../../lib/permissions';

export const LOGS_PERMISSIONS = definePermissions(['logs:read']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    logs: (typeof LOGS_PERMISSIONS)[number];
  }
}

export const LogQuery = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  level: z.optional(z.enum(['info', 'warn', 'error'])),
  action: z.optional(z.string().check(z.regex(/^[a-z_]+\.[a-z_]+$/, 'Invalid action'))),
  actorId: z.optional(z.uuid({ error: 'Invalid actor id' })),
  targetId: z.optional(z.uuid({ error: 'Invalid target id' })),
  outcome: z.optional(z.enum(['success', 'failure'])),
  from: QueryDate,
  to: QueryDate,
});

export const LogEntry = z.object({
  id: z.string(),
  occurredAt: z.string(),
  level: z.string(),
  action: z.string(),
  outcome: z.string(),
  actorId: z.nullable(z.string()),
  targetId: z.nullable(z.string()),
  requestId: z.nullable(z.string()),
  ip: z.nullable(z.string()),
  userAgent: z.nullable(z.string()),
  details: z.nullable(z.record(z.string(), z.unknown())),
});
export const LogPage = pageSchema(LogEntry);
