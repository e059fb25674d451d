import { app } from './app';
import { runScheduled } from './cron/scheduled';
import { handleQueue } from './queues';

export { RateLimiter } from './durable-objects/rate-limiter';
export { NotificationHub } from './durable-objects/notification-hub';
export { UserState } from './durable-objects/user-state';

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: runScheduled,
} satisfies ExportedHandler<CloudflareBindings>;
