import * as z from 'zod/mini';
import { createDatabases } from '../db/client';
import { auditLogs } from '../db/schema/logs';
import { reindexAfter } from '../features/search/search.service';
import { fanOut } from '../features/webhooks-out/webhooks-out.delivery';
import { log } from '../lib/log';
import { AuditEvent } from './audit-message';

// D1 binds at most 100 parameters per statement; an audit row binds 14.
const ROWS_PER_STATEMENT = 7;

export function backoffSeconds(attempts: number): number {
  return Math.min(3600, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Batch-inserts audit events into LOGS_DB in one D1 batch (one transaction). Idempotent by
 * `eventId` (ON CONFLICT DO NOTHING), so a redelivered batch adds nothing. A malformed message
 * is acked and logged (it would never succeed); a database failure retries the batch with
 * exponential backoff and, after max_retries, lands in the dead-letter queue.
 */
export async function consumeAuditBatch(batch: MessageBatch<unknown>, env: CloudflareBindings): Promise<void> {
  const valid: { msg: Message<unknown>; event: AuditEvent }[] = [];
  for (const msg of batch.messages) {
    const parsed = z.safeParse(AuditEvent, msg.body);
    if (parsed.success) valid.push({ msg, event: parsed.data });
    else {
      log('error', 'audit message rejected', { messageId: msg.id, issues: parsed.error.issues.length });
      msg.ack();
    }
  }
  if (valid.length === 0) return;
  const db = createDatabases(env).logs;
  const rows = valid.map(({ event }) => ({
    eventId: event.eventId,
    occurredAt: new Date(event.occurredAt),
    level: event.level,
    action: event.action,
    outcome: event.outcome,
    actorId: event.actorId,
    targetId: event.targetId,
    requestId: event.requestId,
    ip: event.ip,
    userAgent: event.userAgent,
    details: event.details,
  }));
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(db.insert(auditLogs).values(rows.slice(i, i + ROWS_PER_STATEMENT)).onConflictDoNothing({ target: auditLogs.eventId }));
  }
  try {
    await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
    // Webhooks fan out only from recorded events; a failure retries the batch (both steps are idempotent).
    await fanOut({ db: createDatabases(env), env }, valid.map((v) => v.event));
    for (const { msg } of valid) msg.ack();
  } catch (err) {
    log('error', 'audit batch insert or webhook fan-out failed; retrying', { count: valid.length, error: String(err) });
    for (const { msg } of valid) msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    return;
  }
  // Projections of the stored events. The search index is rebuilt from the system of record,
  // so it is idempotent and order-free; a failure is logged and repaired by the next change.
  try {
    await reindexAfter(env, valid.map((v) => v.event));
  } catch (err) {
    log('error', 'search reindex failed', { count: valid.length, error: String(err) });
  }
}

/** Dead letters: the event is written to the application log, so it is never silently lost. */
export async function consumeAuditDeadLetters(batch: MessageBatch<unknown>): Promise<void> {
  for (const msg of batch.messages) {
    log('error', 'audit event dead-lettered', { messageId: msg.id, attempts: msg.attempts, event: msg.body });
    msg.ack();
  }
}
