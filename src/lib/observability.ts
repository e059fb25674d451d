import { d1ErrorCode, errorChain, isDrizzleQueryError, statementName } from '../db/errors';
import { log } from './log';

/**
 * Error reporting beyond the log line: an optional alert webhook (throttled per isolate) and
 * Sentry (when SENTRY_DSN is set), both sent after the response. Metrics go to Workers Analytics
 * Engine when the METRICS dataset is bound. Nothing here ever carries a secret or a body.
 */
export interface ErrorReport {
  requestId: string;
  route: string;
  method: string;
  error: unknown;
  environment: string;
  release: string;
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

function sentryFrames(stack: string): { function: string; filename?: string; lineno?: number; colno?: number }[] {
  return stack
    .split('\n')
    .map((line) => {
      const m = /^\s*at\s+(?:(.*?)\s+\()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
      if (!m) return { function: line.trim().replace(/^at\s+/, '') };
      return { function: m[1] || '?', filename: m[2], lineno: Number(m[3]), colno: Number(m[4]) };
    })
    .reverse(); // Sentry lists the oldest frame first.
}

export function parseSentryDsn(dsn: string): { endpoint: string; key: string } | null {
  try {
    const url = new URL(dsn);
    const project = url.pathname.replace(/^\//, '');
    if (!url.username || !/^\d+$/.test(project) || url.protocol !== 'https:') return null;
    return { endpoint: `https://${url.host}/api/${project}/envelope/`, key: url.username };
  } catch {
    return null;
  }
}

async function sendToSentry(dsn: string, report: ErrorReport): Promise<void> {
  const parsed = parseSentryDsn(dsn);
  if (!parsed) {
    log('warn', 'SENTRY_DSN is not a valid https DSN; not reporting');
    return;
  }
  const d = describeError(report.error);
  const eventId = crypto.randomUUID().replace(/-/g, '');
  const event = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    level: 'error',
    platform: 'javascript',
    environment: report.environment,
    release: report.release,
    tags: { requestId: report.requestId, route: report.route, method: report.method, ...(d.statement ? { statement: d.statement } : {}), ...(d.code ? { dbCode: d.code } : {}) },
    exception: {
      values: [{ type: d.type, value: d.statement ? `${d.statement}: ${d.message}` : d.message, mechanism: { type: 'onerror', handled: false }, ...(d.stack ? { stacktrace: { frames: sentryFrames(d.stack) } } : {}) }],
    },
  };
  const body = `${JSON.stringify({ event_id: eventId, sent_at: new Date().toISOString() })}\n${JSON.stringify({ type: 'event' })}\n${JSON.stringify(event)}\n`;
  const res = await fetch(parsed.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-sentry-envelope', 'X-Sentry-Auth': `Sentry sentry_version=7, sentry_key=${parsed.key}, sentry_client=app-ubr/1` },
    body,
  });
  if (!res.ok) log('warn', 'sentry rejected the report', { status: res.status });
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
  if (env.SENTRY_DSN) jobs.push(sendToSentry(env.SENTRY_DSN, report));
  if (env.ALERT_WEBHOOK_URL) jobs.push(sendAlert(env.ALERT_WEBHOOK_URL, report));
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') log('warn', 'error report failed', { error: summarizeError(describeError(r.reason)) });
}

/** Rate, errors and duration per route, when an Analytics Engine dataset is bound as METRICS. */
export function recordRequestMetric(env: Partial<CloudflareBindings>, m: { route: string; method: string; status: number; durationMs: number }): void {
  const dataset = (env as { METRICS?: AnalyticsEngineDataset }).METRICS;
  if (!dataset) return;
  try {
    dataset.writeDataPoint({ blobs: [m.method, m.route, String(m.status)], doubles: [m.durationMs, m.status >= 500 ? 1 : 0], indexes: [m.route.slice(0, 96)] });
  } catch (err) {
    log('warn', 'metrics write failed', { error: String(err) });
  }
}

/** For tests. */
export function resetAlertThrottle(): void {
  lastAlertAt = 0;
}
