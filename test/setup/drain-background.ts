import { env } from 'cloudflare:workers';
import { afterAll } from 'vitest';

// Registration mails a verification link through the notifications queue after the response.
// Before a test file's runtime is torn down, let that background work settle, so no consumer
// is still logging into a closed test RPC (vitest reports that as an unhandled error).
afterAll(async () => {
  const end = Date.now() + 5000;
  for (;;) {
    const pending = await env.APP_DB.prepare("SELECT count(*) AS n FROM notifications WHERE status IN ('queued', 'sending')")
      .first<number>('n')
      .catch(() => 0);
    if (!pending || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // The consumer logs after its last write: give it a moment to flush.
  await new Promise((r) => setTimeout(r, 100));
});
