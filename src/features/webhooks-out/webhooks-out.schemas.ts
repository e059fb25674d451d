import * as z from 'zod/mini';
import type { AuditActionList } from '../../lib/audit';
import { Cursor, Limit } from '../../lib/pagination';
import { definePermissions } from '../../lib/permissions';
import { WEBHOOK_EVENT_TYPES } from './webhooks-out.events';

export const WEBHOOKS_OUT_AUDIT = [
  'webhook.endpoint_create',
  'webhook.endpoint_update',
  'webhook.endpoint_delete',
  'webhook.secret_rotate',
  'webhook.endpoint_paused',
  'webhook.replay',
] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    webhooksOut: (typeof WEBHOOKS_OUT_AUDIT)[number];
  }
}

export const WEBHOOKS_OUT_PERMISSIONS = definePermissions(['webhooks:read', 'webhooks:write']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    webhooksOut: (typeof WEBHOOKS_OUT_PERMISSIONS)[number];
  }
}

// The URL's safety (scheme, host) is checked by the service against the environment (ssrf.ts).
const Url = z.string().check(z.minLength(1), z.maxLength(2048, 'URL is too long'));
const EventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES, { error: `Unknown event type; known: ${WEBHOOK_EVENT_TYPES.join(', ')}` })).check(
  z.minLength(1, 'At least one event type'),
  z.maxLength(WEBHOOK_EVENT_TYPES.length),
  z.refine((t) => new Set(t).size === t.length, 'Event types must be unique'),
);
const Description = z.string().check(z.maxLength(500, 'Description is too long'));

export const EndpointCreateBody = z.strictObject({ url: Url, eventTypes: EventTypes, description: z.optional(Description) });
export type EndpointCreateBody = z.infer<typeof EndpointCreateBody>;
export const EndpointUpdateBody = z.strictObject({
  url: z.optional(Url),
  eventTypes: z.optional(EventTypes),
  description: z.optional(Description),
  /** `active` resumes a paused endpoint (the breaker starts over); `paused` stops deliveries. */
  status: z.optional(z.enum(['active', 'paused'])),
});
export type EndpointUpdateBody = z.infer<typeof EndpointUpdateBody>;
export const EndpointIdParams = z.object({ id: z.uuid({ error: 'Invalid endpoint id' }) });
export const DeliveryIdParams = z.object({ id: z.uuid({ error: 'Invalid delivery id' }) });
export const DeliveriesQuery = z.object({ limit: Limit, cursor: Cursor });

export const EndpointResponse = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  status: z.enum(['active', 'paused']),
  failingSince: z.nullable(z.string()),
  pausedAt: z.nullable(z.string()),
  previousSecretExpiresAt: z.nullable(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type EndpointView = z.infer<typeof EndpointResponse>;
export const EndpointList = z.object({ data: z.array(EndpointResponse) });
/** The only answers that carry the secret: it is shown once. */
export const EndpointWithSecret = z.extend(EndpointResponse, { secret: z.string() });
export const RotatedSecret = z.object({ secret: z.string(), previousSecretExpiresAt: z.string() });

export const AttemptView = z.object({
  id: z.string(),
  responseStatus: z.nullable(z.number()),
  ok: z.boolean(),
  durationMs: z.number(),
  responseBody: z.nullable(z.string()),
  error: z.nullable(z.string()),
  createdAt: z.string(),
});
export const DeliveryView = z.object({
  id: z.string(),
  eventType: z.string(),
  eventId: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  reason: z.nullable(z.string()),
  deliveredAt: z.nullable(z.string()),
  createdAt: z.string(),
  attemptLog: z.array(AttemptView),
});
export type DeliveryView = z.infer<typeof DeliveryView>;
export const DeliveryPage = z.object({ data: z.array(DeliveryView), nextCursor: z.nullable(z.string()) });
export const ReplayResponse = z.object({ id: z.string(), status: z.literal('pending') });
