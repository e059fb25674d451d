import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isTransientStorageError } from './db/transient';
import { apiKeysRoutes } from './features/api-keys/api-keys.routes';
import { consoleSessionRoutes } from './features/auth/console-session.routes';
import { userSessionsRoutes } from './features/users/user-sessions.routes';
import { deadLettersRoutes } from './features/notifications/dead-letters.routes';
import { authRoutes } from './features/auth/auth.routes';
import { clientVersionsRoutes } from './features/client-versions/client-versions.routes';
import { jwksRoutes } from './features/auth/jwks.routes';
import { recoveryRoutes } from './features/auth/recovery.routes';
import { devicesRoutes } from './features/devices/devices.routes';
import { docsPage, docsRoutes } from './features/docs/docs.routes';
import { healthRoutes } from './features/health/health.routes';
import { logsRoutes } from './features/logs/logs.routes';
import { mfaRoutes } from './features/mfa/mfa.routes';
import { mfaPasskeyRoutes } from './features/mfa/mfa-passkey.routes';
import { identitiesRoutes } from './features/oauth-login/identities.routes';
import { FORM_POST_CALLBACK_PATH, oauthLoginRoutes } from './features/oauth-login/oauth-login.routes';
import { notificationsRoutes } from './features/notifications/notifications.routes';
import { preferencesRoutes } from './features/notifications/preferences.routes';
import { streamRoutes } from './features/notifications/stream.routes';
import { rolesRoutes } from './features/roles/roles.routes';
import { searchRoutes } from './features/search/search.routes';
import { usersRoutes } from './features/users/users.routes';
import { twilioRoutes } from './features/webhooks/twilio.routes';
import { webhooksOutRoutes } from './features/webhooks-out/webhooks-out.routes';
import { oauthApiRoutes } from './features/oauth/clients.routes';
import { oauthDiscoveryRoutes } from './features/oauth/discovery.routes';
import { oauthProtocolRoutes } from './features/oauth/oauth.routes';
import { passkeysRoutes } from './features/passkeys/passkeys.routes';
import { passwordlessRoutes } from './features/passwordless/passwordless.routes';
import { allowedMethods } from './lib/allowed-methods';
import { buildAuditEvent } from './lib/audit';
import { getConfig } from './lib/config';
import { AppError, ERROR_CODES, errorBody, type ErrorCode } from './lib/errors';
import { refusal } from './lib/refusal';
import { factory } from './lib/factory';
import { log } from './lib/log';
import { describeError, reportError, summarizeError } from './lib/observability';
import { API_PREFIX, mountRoutes } from './lib/route';
import { jsonBody } from './middleware/body';
import { databases } from './middleware/databases';
import { clientVersion } from './middleware/client-version';
import { conditionalGet } from './middleware/conditional';
import { d1Sessions } from './middleware/d1-sessions';
import { requestLogger } from './middleware/logger';
import { requestId } from './middleware/request-id';
import { noStore, securityHeaders } from './middleware/security-headers';

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'BUSINESS_RULE',
  426: 'UPGRADE_REQUIRED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** How long a client should wait after a transient storage failure (D1 overloaded, network). */
const STORAGE_RETRY_AFTER_SECONDS = 2;

const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'];

/**
 * /api/v1, one router per URL prefix: a route's folder is found from its URL here. Routers that
 * share a prefix are tried in this order (the fixed paths of preferences and the stream before
 * `/notifications/:id`).
 */
const api = factory
  .createApp()
  .route('/auth', authRoutes)
  .route('/auth', recoveryRoutes)
  .route('/auth/mfa', mfaRoutes)
  .route('/auth/mfa/passkey', mfaPasskeyRoutes)
  .route('/auth/console', consoleSessionRoutes)
  .route('/auth/oauth', oauthLoginRoutes)
  .route('/auth/identities', identitiesRoutes)
  .route('/users', userSessionsRoutes)
  .route('/users', usersRoutes)
  .route('/roles', rolesRoutes)
  .route('/api-keys', apiKeysRoutes)
  .route('/logs', logsRoutes)
  .route('/client-versions', clientVersionsRoutes)
  .route('/webhooks/twilio', twilioRoutes)
  .route('/webhooks', webhooksOutRoutes)
  .route('/notifications', preferencesRoutes)
  .route('/notifications', streamRoutes)
  .route('/notifications', deadLettersRoutes)
  .route('/notifications', notificationsRoutes)
  .route('/devices', devicesRoutes)
  .route('/search', searchRoutes)
  .route('/health', healthRoutes)
  .route('/openapi.json', docsRoutes)
  .route('/oauth', oauthApiRoutes)
  .route('/auth/passkeys', passkeysRoutes)
  .route('/auth', passwordlessRoutes);

export const app = factory
  .createApp()
  .use(requestId())
  .use(requestLogger())
  .use(securityHeaders())
  .use(databases())
  .use(
    '/api/*',
    cors({
      origin: (origin, c) => (getConfig(c.env).corsOrigins.includes(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Client-Platform', 'X-Client-Version', 'Idempotency-Key', 'If-None-Match', 'If-Match', 'X-D1-Bookmark'],
      exposeHeaders: ['X-Request-Id', 'X-Client-Update', 'X-Client-Update-Url', ...RATE_LIMIT_HEADERS, 'ETag', 'Idempotent-Replayed', 'X-D1-Bookmark'],
      maxAge: 600,
    }),
  )
  .use('/api/*', d1Sessions())
  .use('/api/*', noStore())
  .use('/api/*', jsonBody({ maxBytes: (c) => getConfig(c.env as CloudflareBindings).bodyLimitBytes, formPathPrefix: `${API_PREFIX}/webhooks/`, formPathPattern: FORM_POST_CALLBACK_PATH }))
  .use('/api/*', clientVersion())
  .use(conditionalGet())
  .route(API_PREFIX, api)
  .route('/.well-known', jwksRoutes)
  .route('/docs', docsPage)
  .route('/.well-known', oauthDiscoveryRoutes)
  .route('/oauth', oauthProtocolRoutes);

// Every endpoint's full path comes from here (OpenAPI, 405 Allow lists, rate-limit keys).
mountRoutes(app.routes);

app.notFound((c) => {
  // A known path with another method is 405 with the methods it does serve (RFC 9110 §15.5.6).
  const allow = allowedMethods(c.req.path);
  if (allow.length === 0) return c.json(errorBody('NOT_FOUND', 'Not found', c.var.requestId ?? ''), 404);
  c.header('Allow', allow.join(', '));
  if (c.req.method === 'OPTIONS') return c.body(null, 204);
  return c.json(errorBody('METHOD_NOT_ALLOWED', ERROR_CODES.METHOD_NOT_ALLOWED, c.var.requestId ?? ''), 405);
});

app.onError((err, c) => {
  const requestId = c.var.requestId ?? '';
  if (err instanceof AppError) return refusal(c, err);
  if (err instanceof HTTPException && err.status < 500) {
    const code = STATUS_CODES[err.status] ?? 'VALIDATION_ERROR';
    return c.json(errorBody(code, code === 'VALIDATION_ERROR' ? 'Invalid input' : err.message, requestId), err.status as ContentfulStatusCode);
  }
  const error = describeError(err);
  const logged = { requestId, route: c.req.routePath, error: summarizeError(error), code: error.code, statement: error.statement, stack: error.stack };
  if (isTransientStorageError(err)) {
    // Expected under overload: a warning, no audit record, no page; the client retries.
    log('warn', 'storage unavailable', logged);
    c.header('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
    return c.json(errorBody('SERVICE_UNAVAILABLE', ERROR_CODES.SERVICE_UNAVAILABLE, requestId), 503);
  }
  // Unknown: a redacted description to logs and sinks (never to the wire), an audit record, a generic 500.
  log('error', 'unhandled error', logged);
  try {
    const event = buildAuditEvent(c, { action: 'error.unexpected', outcome: 'failure', level: 'error', details: { route: c.req.routePath, method: c.req.method } });
    const config = getConfig(c.env);
    c.executionCtx.waitUntil(
      Promise.all([
        c.env.AUDIT_QUEUE.send(event).catch(() => {}),
        reportError(c.env, { requestId, route: c.req.routePath, method: c.req.method, error: err, environment: config.env, request: c.req.raw, userId: c.var.auth?.userId }),
      ]),
    );
  } catch {
    // No execution context or queue: the log line above is the record.
  }
  return c.json(errorBody('INTERNAL_ERROR', 'Internal server error', requestId), 500);
});

export type App = typeof app;
/** The whole API's routes and types, for Hono's typed client: `hc<AppType>(baseUrl)`. */
export type AppType = typeof app;
