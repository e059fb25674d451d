import * as z from 'zod/mini';

/** The audit event as it travels through AUDIT_QUEUE (shared by producer and consumer). */
export const AuditEvent = z.object({
  eventId: z.string().check(z.minLength(1), z.maxLength(64)),
  occurredAt: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  action: z.string().check(z.minLength(1), z.maxLength(64)),
  outcome: z.enum(['success', 'failure']),
  actorId: z.nullable(z.string()),
  targetId: z.nullable(z.string()),
  requestId: z.nullable(z.string()),
  ip: z.nullable(z.string()),
  userAgent: z.nullable(z.string()),
  details: z.nullable(z.record(z.string(), z.unknown())),
});

export type AuditEvent = z.infer<typeof AuditEvent>;
