import type { Context } from 'hono';
import { uuidv7 } from './uuid';
import type { AuditEvent } from '../queues/audit-message';
import type { AppEnv } from './factory';
import { log } from './log';

/** Action names, `subject.verb`: stable, since log queries filter on them. */
export type AuditActionList = readonly `${Lowercase<string>}.${Lowercase<string>}`[];

/** What the platform records (middleware, app.onError, queue consumers), whatever the feature. */
export const PLATFORM_AUDIT = [
  'error.unexpected',
  'rate_limit.exceeded',
  'authz.denied',
  'authz.ceiling',
  'security.sessions_ended',
  'auth.token_invalid',
  'apikey.invalid',
  'auth.device_token_invalid',
  'notification.dead_letter',
] as const satisfies AuditActionList;

/**
 * Each feature's actions, keyed by feature: its list is added here by declaration merging, so
 * `audit(c, { action })` only takes a declared name while this module never imports a feature.
 * Types only: nothing checks the names at runtime (the queue message carries a string).
 * @example declare module '../../lib/audit' { interface FeatureAuditActions { roles: (typeof ROLES_AUDIT)[number] } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface FeatureAuditActions {}

export type AuditAction = (typeof PLATFORM_AUDIT)[number] | FeatureAuditActions[keyof FeatureAuditActions];

export interface AuditInput {
  action: AuditAction;
  outcome: 'success' | 'failure';
  level?: AuditEvent['level'];
  actorId?: string | null;
  targetId?: string | null;
  /** Non-secret context only: never a password, token, OTP or full email. */
  details?: Record<string, unknown>;
}

// Control characters in client-supplied strings are escaped so a log viewer cannot be spoofed.
function clean(value: string | undefined | null, max = 256): string | null {
  if (!value) return null;
  // eslint-disable-next-line no-control-regex
  return value.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function buildAuditEvent<E extends AppEnv>(c: Context<E>, input: AuditInput): AuditEvent {
  return {
    eventId: uuidv7(),
    occurredAt: Date.now(),
    level: input.level ?? (input.outcome === 'failure' ? 'warn' : 'info'),
    action: input.action,
    outcome: input.outcome,
    actorId: input.actorId ?? c.var.auth?.userId ?? null,
    targetId: input.targetId ?? null,
    requestId: c.var.requestId ?? null,
    ip: clean(c.req.header('CF-Connecting-IP'), 64),
    userAgent: clean(c.req.header('User-Agent')),
    details: input.details ?? null,
  };
}

/**
 * Records a security event off the request path: the event goes to AUDIT_QUEUE (after the
 * response, via waitUntil) and the queue consumer batch-inserts into LOGS_DB.
 */
export function audit<E extends AppEnv>(c: Context<E>, input: AuditInput): void {
  const event = buildAuditEvent(c, input);
  const send = c.env.AUDIT_QUEUE.send(event).catch((err: unknown) => {
    log('error', 'audit enqueue failed', { action: event.action, eventId: event.eventId, requestId: event.requestId, error: String(err) });
  });
  try {
    c.executionCtx.waitUntil(send);
  } catch {
    // No execution context (direct app.request in tests): the promise still settles on its own.
  }
}
