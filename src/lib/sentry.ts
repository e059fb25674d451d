import { log } from './log';
import type { ReleaseInfo } from './release';
import { parseStackFrames } from './stack-frames';

/**
 * A hand-written Sentry envelope (https://develop.sentry.dev/sdk/data-model/envelopes/): one event
 * item, no SDK. What goes in is allowlisted: the redacted error description, the route pattern, a
 * few request headers, query parameter names with their values filtered, the version. Never a
 * body, a cookie, a credential, an IP address or an email.
 */
export interface SentryErrorInput {
  eventId: string;
  type: string;
  /** Already redacted (observability.ts describeError). */
  message: string;
  stack?: string;
  statement?: string;
  dbCode?: string;
  requestId: string;
  route: string;
  method: string;
  environment: string;
  release: ReleaseInfo;
  request?: Request;
  userId?: string;
}

export const FILTERED = '[Filtered]';

/** Request headers an event may carry; everything else (Authorization, Cookie, X-API-Key, CF-Connecting-IP, …) is dropped. */
const SAFE_HEADERS = ['accept', 'accept-language', 'content-length', 'content-type', 'user-agent', 'cf-ray', 'x-request-id', 'x-client-platform', 'x-client-version'];

const EMAIL = /[^\s@/?&=]+@[^\s@/?&=]+\.[A-Za-z]{2,}/g;
// Ids, tokens, codes in a path segment: a long run of token characters with a digit.
const TOKEN_LIKE = /(?=[A-Za-z_+=.~-]*\d)[A-Za-z0-9_+=.~-]{16,}/g;

export function parseSentryDsn(dsn: string): { endpoint: string; key: string } | null {
  try {
    const url = new URL(dsn);
    const project = url.pathname.replace(/^\//, '');
    // Plain http only to this machine (a local ingest stand-in); anywhere else the key and events travel over TLS.
    const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
    if (!url.username || !/^\d+$/.test(project) || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) return null;
    return { endpoint: `${url.protocol}//${url.host}/api/${project}/envelope/`, key: url.username };
  } catch {
    return null;
  }
}

/** Path with ids/tokens/emails replaced, query parameter names kept and every value filtered. */
export function scrubUrl(raw: string): { url: string; query_string?: string } {
  try {
    const u = new URL(raw);
    const path = u.pathname.replace(EMAIL, FILTERED).replace(TOKEN_LIKE, FILTERED);
    const names = [...new Set([...u.searchParams.keys()])].slice(0, 20).map((k) => k.replace(EMAIL, FILTERED).replace(TOKEN_LIKE, FILTERED).slice(0, 64));
    const query = names.map((k) => `${encodeURIComponent(k)}=${FILTERED}`).join('&');
    return { url: `${u.origin}${path}`, ...(query ? { query_string: query } : {}) };
  } catch {
    return { url: '' };
  }
}

export function scrubHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SAFE_HEADERS) {
    const value = headers.get(name);
    if (value !== null) out[name] = value.replace(EMAIL, FILTERED).slice(0, 256);
  }
  return out;
}

function requestContext(request: Request): Record<string, unknown> {
  return { method: request.method, ...scrubUrl(request.url), headers: scrubHeaders(request.headers) };
}

export function buildSentryEvent(input: SentryErrorInput): Record<string, unknown> {
  const frames = input.stack ? parseStackFrames(input.stack) : [];
  const cf = input.request?.cf as { colo?: unknown; country?: unknown } | undefined;
  const colo = typeof cf?.colo === 'string' ? cf.colo.slice(0, 8) : undefined;
  const { release } = input;
  return {
    event_id: input.eventId,
    timestamp: Date.now() / 1000,
    level: 'error',
    platform: 'javascript',
    logger: 'app-ubr',
    environment: input.environment,
    release: release.release,
    transaction: `${input.method} ${input.route}`,
    sdk: { name: 'app-ubr.envelope', version: '1.0.0' },
    tags: {
      requestId: input.requestId,
      route: input.route,
      method: input.method,
      ...(release.versionId ? { cf_version_id: release.versionId } : {}),
      ...(colo ? { colo } : {}),
      ...(input.statement ? { statement: input.statement } : {}),
      ...(input.dbCode ? { dbCode: input.dbCode } : {}),
    },
    contexts: {
      runtime: { name: 'workerd' },
      cloudflare: { version_id: release.versionId, version_tag: release.versionTag, version_timestamp: release.versionTimestamp, ...(colo ? { colo } : {}) },
    },
    ...(input.userId ? { user: { id: input.userId } } : {}),
    ...(input.request ? { request: requestContext(input.request) } : {}),
    exception: {
      values: [
        {
          type: input.type,
          value: input.statement ? `${input.statement}: ${input.message}` : input.message,
          mechanism: { type: 'onerror', handled: false },
          ...(frames.length > 0 ? { stacktrace: { frames } } : {}),
        },
      ],
    },
  };
}

/** Envelope header, item header (with the payload's byte length), payload; newline-separated. */
export function toEnvelope(event: Record<string, unknown>): string {
  const payload = JSON.stringify(event);
  const length = new TextEncoder().encode(payload).byteLength;
  return `${JSON.stringify({ event_id: event.event_id, sent_at: new Date().toISOString() })}\n${JSON.stringify({ type: 'event', content_type: 'application/json', length })}\n${payload}\n`;
}

const SEND_TIMEOUT_MS = 5000;

export async function sendToSentry(dsn: string, input: SentryErrorInput): Promise<void> {
  const parsed = parseSentryDsn(dsn);
  if (!parsed) {
    log('warn', 'SENTRY_DSN is not a valid https DSN; not reporting');
    return;
  }
  const res = await fetch(parsed.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-sentry-envelope', 'X-Sentry-Auth': `Sentry sentry_version=7, sentry_key=${parsed.key}, sentry_client=app-ubr.envelope/1.0.0` },
    body: toEnvelope(buildSentryEvent(input)),
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  if (!res.ok) log('warn', 'sentry rejected the report', { status: res.status });
  await res.body?.cancel();
}
