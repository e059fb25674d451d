import { log } from '../lib/log';
import { consumeAuditBatch, consumeAuditDeadLetters } from './audit-consumer';

/** One queue handler for the Worker; dispatches on the queue's name (which carries the env suffix). */
export async function handleQueue(batch: MessageBatch<unknown>, env: CloudflareBindings): Promise<void> {
  if (batch.queue.startsWith('app-ubr-audit-dlq')) return consumeAuditDeadLetters(batch);
  if (batch.queue.startsWith('app-ubr-audit')) return consumeAuditBatch(batch, env);
  log('error', 'message from an unknown queue', { queue: batch.queue, count: batch.messages.length });
  batch.retryAll({ delaySeconds: 60 });
}
