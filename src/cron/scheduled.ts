import { log } from '../lib/log';

/** The scheduled handler: one function per job (see cron/*.ts). */
export async function runScheduled(controller: ScheduledController, env: CloudflareBindings, ctx: ExecutionContext): Promise<void> {
  log('info', 'cron start', { cron: controller.cron });
  void env;
  void ctx;
}
