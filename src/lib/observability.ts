import { d1ErrorCode, errorChain, isDrizzleQueryError, statementName } from '../db/errors';
import { log } from './log';
import { releaseInfo } from './release';
import { sendToSentry } from './sentry';

/**
 * Error reporting beyond the log line: an optional alert webhook (throttled per isolate) and
 * Sentry (when SENTRY_DSN is set, src/lib/sentry.ts), both sent after the response. Request
 * metrics are src/lib/metrics.ts. Nothing here ever carries a secret or a body.
 */
export interface ErrorReport {
  requestId: string;
  route: string;
  method: string;
  error: unknown;
  environment: string;
  /** The failed request: only its method, scrubbed URL, allowlisted headers and colo reach Sentry. */
  request?: Request;
  /** Public user id of the caller, when authenticated. */
  userId?: string;
}

const ALERT_INTERVAL_MS = 60_000;
let lastAlertAt = 0;

/**
 * What may leave the process about an error: its class, a D1 code, the first line of the
 * underlying message with quoted values, emails and token-like strings cut out, a statement
 * name (`insert users`) and the stack frames without the message line. Never a drizzle
 * wrapper's message, which is the SQL plus every bound value.
 */
export interface ErrorDescription {
  type: string;
  message: string;
  code?: string;
  statement?: string;
  /** Frames only (`    at fn (file:line:col)` lines). */
  stack?: string;
}

const EMAIL = /[^\s@'"<>(),;:]+@[^\s@'"<>(),;:]+\.[A-Za-z]{2,}/g;
// Hashes, tokens, ids: a long run of token characters with at least one digit (SQLITE_CONSTRAINT_PRIMARYKEY has none).
const TOKEN_LIKE = /(?=[A-Za-z_+/=-]*\d)[A-Za-z0-9_+/=-]{20,}/g;

/** First line only, quoted values and anything after `params:` replaced, bounded. */
export function redactErrorText(text: string): string {
  return (text.split('\n', 1)[0] ?? '')
    .replace(/\bparams:.*$/i, 'params: ?')
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "'?'")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"?"')
    .replace(/`[^`]*`/g, '`?`')
    .replace(EMAIL, '?@?')
    .replace(TOKEN_LIKE, '?')
    .slice(0, 300);
}

function framesOnly(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  // The message may span lines (drizzle's does, with user values): cut it off before picking frames.
  const header = `${err.name}: ${err.message}`;
  const body = err.stack.startsWith(header) ? err.stack.slice(header.length) : err.stack.startsWith(err.message) ? err.stack.slice(err.message.length) : err.stack;
  const frames = body
    .split('\n')
    .filter((line) => /^\s*at\s/.test(line))
    .join('\n')
    .replace(EMAIL, '?@?');
  return frames ? frames.slice(0, 4000) : undefined;
}

export function describeError(err: unknown): ErrorDescription {
  const chain = errorChain(err);
  const query = chain.find(isDrizzleQueryError);
  const own = chain.find((e) => !isDrizzleQueryError(e));
  const type = isDrizzleQueryError(err) ? 'DrizzleQueryError' : err instanceof Error ? err.name.slice(0, 100) || 'Error' : 'Error';
  const message = own === undefined ? (query ? 'Failed query' : '') : redactErrorText(own instanceof Error ? own.message : String(own));
  const d: ErrorDescription = { type, message };
  const code = d1ErrorCode(err);
  if (code) d.code = code;
  const statement = query ? statementName(query.query) : undefined;
  if (statement) d.statement = statement;
  const stack = framesOnly(err);
  if (stack) d.stack = stack;
  return d;
}

/** One line for humans: `DrizzleQueryError (insert users): D1_ERROR: UNIQUE constraint failed: users.email`. */
export function summarizeError(d: ErrorDescription): string {
  return `${d.type}${d.statement ? ` (${d.statement})` : ''}: ${d.message}`;
}

async function sendAlert(url: string, report: ErrorReport): Promise<void> {
  const now = Date.now();
  if (now - lastAlertAt < ALERT_INTERVAL_MS) return;
  lastAlertAt = now;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: `app-ubr ${report.environment}: ${summarizeError(describeError(report.error))} on ${report.method} ${report.route} (request ${report.requestId})` }),
  });
  if (!res.ok) log('warn', 'alert webhook rejected the alert', { status: res.status });
}

/** Reports an unexpected error to the configured sinks; never throws. */
export async function reportError(env: Partial<CloudflareBindings>, report: ErrorReport): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (env.SENTRY_DSN) {
    const d = describeError(report.error);
    jobs.push(
      sendToSentry(env.SENTRY_DSN, {
        eventId: crypto.randomUUID().replace(/-/g, ''),
        type: d.type,
        message: d.message,
        stack: d.stack,
        statement: d.statement,
        dbCode: d.code,
        requestId: report.requestId,
        route: report.route,
        method: report.method,
        environment: report.environment,
        release: releaseInfo(env),
        request: report.request,
        userId: report.userId,
      }),
    );
  }
  if (env.ALERT_WEBHOOK_URL) jobs.push(sendAlert(env.ALERT_WEBHOOK_URL, report));
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') log('warn', 'error report failed', { error: summarizeError(describeError(r.reason)) });
}

/** For tests. */
export function resetAlertThrottle(): void {
  lastAlertAt = 0;
}
