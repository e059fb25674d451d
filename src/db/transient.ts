import { errorChain, isDrizzleQueryError } from './errors';

/**
 * Failures of the storage layer itself that a later retry of the whole request can fix: the
 * "Retry the operation" rows of Cloudflare's D1 error list (developers.cloudflare.com/d1/
 * observability/debug-d1), the overload rows (a 503 tells the client to back off), and the
 * Durable Object infrastructure errors behind D1. Limits hit by the query itself (memory, CPU,
 * storage timeout) are not here: retrying the same query fails again, so they stay a 500.
 */
const TRANSIENT_MESSAGES: readonly RegExp[] = [
  /Network connection lost/i,
  /storage caused object to be reset/i,
  /reset because its code was updated/i,
  /Cannot resolve D1 DB due to transient issue/i,
  /D1 DB is overloaded/i,
  /Durable Object is overloaded/i,
  /Too many requests queued/i,
  /Requests queued for too long/i,
  /Can't read from request stream because client disconnected/i,
  /\bD1_ERROR\b.*\b(?:retry|try again)\b/i,
];

// Never transient even when a pattern above also matches the text.
const PERMANENT_MESSAGES: readonly RegExp[] = [/Memory limit would be exceeded/i, /exceeded its memory limit/i, /exceeded its CPU time limit/i];

function isTransientOne(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  // Durable Object infrastructure errors are flagged by the runtime; user code sets `remote`.
  const flags = err as { retryable?: unknown; overloaded?: unknown; remote?: unknown };
  if (flags.remote !== true && (flags.retryable === true || flags.overloaded === true)) return true;
  // A drizzle wrapper's message holds the SQL and its bound values: user text must not decide.
  if (isDrizzleQueryError(err)) return false;
  const message = err instanceof Error ? err.message : '';
  return TRANSIENT_MESSAGES.some((re) => re.test(message)) && !PERMANENT_MESSAGES.some((re) => re.test(message));
}

/** True when `err`, or anything in its `cause` chain, is a transient D1 / Durable Object failure. */
export function isTransientStorageError(err: unknown): boolean {
  return errorChain(err).some(isTransientOne);
}
