import { log } from '../lib/log';
import { consumeAuditBatch, consumeAuditDeadLetters } from './audit-consumer';
import { consumeNotificationBatch } from './notification-consumer';
import { consumeNotificationDeadLetters } from './notification-dlq-consumer';
import { NOTIFY_DLQ_PREFIX, NOTIFY_QUEUE_PREFIX } from './notification-message';
import { consumeWebhookBatch, consumeWebhookDeadLetters } from './webhook-consumer';
import { WEBHOOK_DLQ_PREFIX, WEBHOOK_QUEUE_PREFIX } from './webhook-message';

/** One queue handler for the Worker; dispatches on the queue's name (which carries the env suffix). */
export async function handleQueue(batch: MessageBatch<unknown>, env: CloudflareBindings, _ctx?: ExecutionContext): Promise<void> {
  if (batch.queue.startsWith('app-ubr-audit-dlq')) return consumeAuditDeadLetters(batch);
  if (batch.queue.startsWith('app-ubr-audit')) return consumeAuditBatch(batch, env);
  // The DLQ name extends the queue's: test it first.
  if (batch.queue.startsWith(NOTIFY_DLQ_PREFIX)) return consumeNotificationDeadLetters(batch, env);
  if (batch.queue.startsWith(NOTIFY_QUEUE_PREFIX)) return consumeNotificationBatch(batch, env);
  if (batch.queue.startsWith(WEBHOOK_DLQ_PREFIX)) return consumeWebhookDeadLetters(batch, env);
  if (batch.queue.startsWith(WEBHOOK_QUEUE_PREFIX)) return consumeWebhookBatch(batch, env);
  log('error', 'message from an unknown queue', { queue: batch.queue, count: batch.messages.length });
  batch.retryAll({ delaySeconds: 60 });
}
