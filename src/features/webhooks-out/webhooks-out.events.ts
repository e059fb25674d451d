import type { AuditEvent } from '../../queues/audit-message';

/**
 * Webhook event types, versioned by the payload's `version` (1). Each is derived from an audit
 * action the features already record, so no feature code knows about webhooks. A breaking
 * payload change gets version 2 (and endpoints opt in); fields are only ever added to version 1.
 */
export const WEBHOOK_EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.restored',
  'role.granted',
  'role.revoked',
  'role.created',
  'role.updated',
  'role.deleted',
  'session.revoked',
  'notification.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const PAYLOAD_VERSION = 1;

type Data = Record<string, string | string[] | null>;
interface Mapping {
  type: WebhookEventType;
  outcome: AuditEvent['outcome'];
  /** Non-secret ids only: never an email, a name, a token or free text from a client. */
  data: (e: AuditEvent) => Data;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const user = (e: AuditEvent): Data => ({ userId: e.targetId });
const role = (e: AuditEvent): Data => ({ roleId: e.targetId });

const BY_ACTION: Record<string, Mapping> = {
  'auth.register': { type: 'user.created', outcome: 'success', data: user },
  'user.update': {
    type: 'user.updated',
    outcome: 'success',
    data: (e) => ({ userId: e.targetId, fields: Array.isArray(e.details?.fields) ? e.details.fields.filter((f): f is string => typeof f === 'string') : [] }),
  },
  'user.delete': { type: 'user.deleted', outcome: 'success', data: user },
  'user.restore': { type: 'user.restored', outcome: 'success', data: user },
  'role.grant': { type: 'role.granted', outcome: 'success', data: (e) => ({ userId: e.targetId, role: str(e.details?.role) }) },
  'role.revoke': { type: 'role.revoked', outcome: 'success', data: (e) => ({ userId: e.targetId, role: str(e.details?.role) }) },
  'role.create': { type: 'role.created', outcome: 'success', data: role },
  'role.update': { type: 'role.updated', outcome: 'success', data: role },
  'role.delete': { type: 'role.deleted', outcome: 'success', data: role },
  'auth.session_revoke': { type: 'session.revoked', outcome: 'success', data: (e) => ({ userId: e.targetId, sessionId: str(e.details?.sessionId), reason: 'revoked' }) },
  'auth.logout': { type: 'session.revoked', outcome: 'success', data: (e) => ({ userId: e.targetId, sessionId: str(e.details?.sessionId), reason: 'logout' }) },
  'notification.dead_letter': {
    type: 'notification.failed',
    outcome: 'failure',
    data: (e) => ({ userId: e.targetId, notificationId: str(e.details?.notificationId), channel: str(e.details?.channel) }),
  },
};

export interface WebhookEvent {
  type: WebhookEventType;
  eventId: string;
  /** The serialized payload: what is signed and sent, byte for byte, on every attempt. */
  payload: string;
}

/** The webhook event an audit event stands for, or null (most audit events are not webhooks). */
export function toWebhookEvent(e: AuditEvent): WebhookEvent | null {
  const m = BY_ACTION[e.action];
  if (!m || m.outcome !== e.outcome) return null;
  const payload = { type: m.type, version: PAYLOAD_VERSION, timestamp: new Date(e.occurredAt).toISOString(), data: m.data(e) };
  return { type: m.type, eventId: e.eventId, payload: JSON.stringify(payload) };
}
