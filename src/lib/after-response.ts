import type { Context } from 'hono';
import type { AppEnv } from './factory';
import { log } from './log';

/**
 * Runs work that must not change the response or its timing after the response (waitUntil);
 * without an execution context (direct calls in tests) it is awaited instead. Failures are
 * logged, never thrown at the client.
 */
export function afterResponse<E extends AppEnv>(c: Context<E>, what: string, work: Promise<unknown>): Promise<void> {
  const settled = work.then(
    () => undefined,
    (err: unknown) => log('error', `${what} failed after the response`, { requestId: c.var.requestId, error: err instanceof Error ? err.message : String(err) }),
  );
  try {
    c.executionCtx.waitUntil(settled);
    return Promise.resolve();
  } catch {
    return settled;
  }
}
