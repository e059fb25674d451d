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

/** The security events we record (action names, stable for queries). */
export const AUDIT_ACTIONS = [
  'auth.register',
  'auth.login',
  'auth.logout',
  'auth.refresh_reuse',
  'auth.refresh_retry',
  'auth.device_token_invalid',
  'authz.ceiling',
  'security.sessions_ended',
  'auth.password_change',
  'auth.session_revoke',
  'authz.denied',
  'user.update',
  'user.delete',
  'user.restore',
  'role.create',
  'role.update',
  'role.delete',
  'role.grant',
  'role.revoke',
  'error.unexpected',
  'rate_limit.exceeded',
  'apikey.create',
  'apikey.rotate',
  'apikey.revoke',
  'mfa.enable',
  'mfa.disable',
  'mfa.recovery_code_used',
  'auth.password_reset_request',
  'auth.password_reset',
  'auth.email_verify',
  'auth.email_change_request',
  'auth.email_change',
  'notification.send',
  'notification.dead_letter',
  'notification.preferences_update',
  'notification.sms_consent',
  'device.register',
  'device.delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
