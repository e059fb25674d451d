import { createDatabases } from '../db/client';
import { getConfig } from '../lib/config';
import { log } from '../lib/log';
import { cleanupAuditLogs } from './audit-logs.job';
import { purgeDeletedUsers } from './deleted-users.job';
import { cleanupStaleDevices } from './devices.job';
import { cleanupIdempotencyKeys } from './idempotency-keys.job';
import type { Job, JobResult } from './job';
import { cleanupNotifications, failStaleNotifications } from './notifications.job';
import { cleanupOneTimeTokens } from './one-time-tokens.job';
import { cleanupOrphanProfiles } from './orphan-profiles.job';
import { cleanupSessions } from './sessions.job';
import { cleanupTwilioInbound } from './twilio-inbound.job';
import { cleanupWebhookDeliveries } from './webhooks.job';
import { cleanupOAuth } from './oauth.job';

/** Every job, by the name it logs under. Each is bounded per run, idempotent and safe with traffic. */
export const JOBS = {
  sessions: cleanupSessions,
  oneTimeTokens: cleanupOneTimeTokens,
  staleNotifications: failStaleNotifications,
  deletedUsers: purgeDeletedUsers,
  orphanProfiles: cleanupOrphanProfiles,
  auditLogs: cleanupAuditLogs,
  notifications: cleanupNotifications,
  staleDevices: cleanupStaleDevices,
  twilioInbound: cleanupTwilioInbound,
  idempotencyKeys: cleanupIdempotencyKeys,
  webhookDeliveries: cleanupWebhookDeliveries,
  oauth: cleanupOAuth,
} satisfies Record<string, Job>;
export type JobName = keyof typeof JOBS;

const FREQUENT: JobName[] = ['sessions', 'oneTimeTokens', 'staleNotifications', 'idempotencyKeys'];
const DAILY: JobName[] = ['deletedUsers', 'orphanProfiles', 'auditLogs', 'notifications', 'staleDevices', 'twilioInbound', 'webhookDeliveries', 'oauth'];

/**
 * Which jobs a trigger runs (crons in wrangler.toml): the 5-minute trigger keeps short-lived
 * state small, the daily one does retention. Any other expression (staging's single
 * 15-minute trigger, a manual /__scheduled call) runs everything: each job is bounded anyway.
 */
export function jobsFor(cron: string): JobName[] {
  if (cron === '*/5 * * * *') return FREQUENT;
  if (cron === '17 3 * * *') return DAILY;
  return [...FREQUENT, ...DAILY];
}

/** Runs the trigger's jobs one after another; one failing does not stop the others. */
export async function runJobs(controller: Pick<ScheduledController, 'cron' | 'scheduledTime'>, env: CloudflareBindings): Promise<Record<string, JobResult>> {
  const ctx = { env, db: createDatabases(env), now: controller.scheduledTime, config: getConfig(env) };
  const results: Record<string, JobResult> = {};
  const failed: string[] = [];
  for (const name of jobsFor(controller.cron)) {
    const start = performance.now();
    try {
      const r = await JOBS[name](ctx);
      results[name] = r;
      log('info', 'cron job', { cron: controller.cron, job: name, affected: r.affected, chunks: r.chunks, done: r.done, ...r.details, durationMs: Math.round(performance.now() - start) });
    } catch (err) {
      failed.push(name);
      log('error', 'cron job failed', { cron: controller.cron, job: name, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
  // Surfaces in the Cron Events dashboard as a failed invocation, after every job had its turn.
  if (failed.length > 0) throw new Error(`cron jobs failed: ${failed.join(', ')}`);
  return results;
}

/** The Worker's scheduled handler (Cron Triggers; locally /__scheduled or /cdn-cgi/local/scheduled). */
export async function runScheduled(controller: ScheduledController, env: CloudflareBindings, _ctx: ExecutionContext): Promise<void> {
  await runJobs(controller, env);
}
