import * as z from 'zod/mini';

/** WEBHOOK_QUEUE message: the delivery row holds everything else (payload, endpoint). */
export const WebhookMessage = z.object({ deliveryId: z.uuid(), replay: z.optional(z.boolean()) });
export type WebhookMessage = z.infer<typeof WebhookMessage>;

/** Queue names carry the env suffix; the DLQ's extends the queue's, so test it first. */
export const WEBHOOK_QUEUE_PREFIX = 'app-ubr-webhooks';
export const WEBHOOK_DLQ_PREFIX = 'app-ubr-webhooks-dlq';
