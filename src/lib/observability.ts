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

function describe(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) return { type: err.name, message: err.message.slice(0, 500), stack: err.stack?.slice(0, 4000) };
  return { type: 'Error', message: String(err).slice(0, 500) };
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
  const { type, message, stack } = describe(report.error);
  const eventId = crypto.randomUUID().replace(/-/g, '');
  const event = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    level: 'error',
    platform: 'javascript',
    environment: report.environment,
    release: report.release,
    tags: { requestId: report.requestId, route: report.route, method: report.method },
    exception: { values: [{ type, value: message, ...(stack ? { stacktrace: { frames: [] }, mechanism: { type: 'onerror', handled: false } } : {}) }] },
    extra: stack ? { stack } : undefined,
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
  const { type, message } = describe(report.error);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: `app-ubr ${report.environment}: ${type} on ${report.method} ${report.route} (request ${report.requestId}): ${message}` }),
  });
  if (!res.ok) log('warn', 'alert webhook rejected the alert', { status: res.status });
}

/** Reports an unexpected error to the configured sinks; never throws. */
export async function reportError(env: Partial<CloudflareBindings>, report: ErrorReport): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (env.SENTRY_DSN) jobs.push(sendToSentry(env.SENTRY_DSN, report));
  if (env.ALERT_WEBHOOK_URL) jobs.push(sendAlert(env.ALERT_WEBHOOK_URL, report));
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') log('warn', 'error report failed', { error: String(r.reason) });
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
