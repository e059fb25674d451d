/** Typed view of the Worker's vars, parsed once per env object. */
export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

export interface AppConfig {
  env: string;
  version: string;
  jwtIssuer: string;
  jwtAudience: string;
  corsOrigins: string[];
  bodyLimitBytes: number;
  sessionAbsoluteTtlMs: number;
  sessionIdleTtlMs: number;
  rateLimits: {
    auth: RateLimitRule;
    anonymous: RateLimitRule;
    standard: RateLimitRule;
    expensive: RateLimitRule;
    /** GET /search, per user. */
    search: RateLimitRule;
    /** Registrations per IP, successes included. */
    registration: RateLimitRule;
    /** Verification-mail resends per account. */
    verifyResend: RateLimitRule;
    /** Failed X-API-Key / Bearer authentications per client IP; once spent, those requests get 429 before any lookup. */
    authFailures: RateLimitRule;
  };
  /** A spent refresh token retried within this long, with the session's device token, gets the same pair again. */
  refreshReuseIntervalMs: number;
  /** RATE_LIMIT_BYPASS="true" turns limiting off for benchmarks; honoured only when APP_ENV is exactly "development". */
  rateLimitBypass: boolean;
  /** Upstash Redis REST credentials (secrets); when both are set, rate limits use Upstash instead of Durable Objects. */
  upstash: { url: string; token: string } | null;
  retention: { deletedUsersDays: number; logsDays: number; notificationsDays: number };
  /** API_DOCS: who gets /docs and /api/v1/openapi.json (see src/features/docs/docs.routes.ts). */
  apiDocs: ApiDocsMode;
  /** Outbound webhooks: an endpoint failing continuously this long is paused; attempt logs kept this many days. */
  webhooks: { breakerMs: number; retentionDays: number };
}

export type ApiDocsMode = 'public' | 'admin' | 'off';

/** Unknown or missing: public only in development, else admin (never wider than intended). */
function apiDocsMode(value: string | undefined, appEnv: string | undefined): ApiDocsMode {
  const v = value?.trim().toLowerCase();
  if (v === 'public' || v === 'admin' || v === 'off') return v;
  return appEnv === 'development' ? 'public' : 'admin';
}

const cache = new WeakMap<object, AppConfig>();

/** Optional secrets: absent from the generated Env type unless set locally, so typed here. */
interface OptionalSecrets {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** A var not yet declared in wrangler.toml (so not in the generated types): the default applies. */
}

function upstashCredentials(env: OptionalSecrets): AppConfig['upstash'] {
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  return url && token ? { url, token } : null;
}

function int(value: string | undefined, fallback: number): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function parseRule(value: string | undefined, fallback: RateLimitRule): RateLimitRule {
  const m = /^(\d+)\/(\d+)$/.exec(value?.trim() ?? '');
  if (!m) return fallback;
  const limit = Number(m[1]);
  const windowSeconds = Number(m[2]);
  return limit > 0 && windowSeconds > 0 ? { limit, windowSeconds } : fallback;
}

export function getConfig(env: Partial<CloudflareBindings>): AppConfig {
  const hit = cache.get(env);
  if (hit) return hit;
  const config: AppConfig = {
    env: env.APP_ENV ?? 'development',
    version: env.APP_VERSION ?? '0.0.0',
    jwtIssuer: env.JWT_ISSUER ?? 'app-ubr',
    jwtAudience: env.JWT_AUDIENCE ?? 'app-ubr',
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    bodyLimitBytes: int(env.BODY_LIMIT_BYTES, 65_536),
    sessionAbsoluteTtlMs: int(env.SESSION_ABSOLUTE_TTL, 2_592_000) * 1000,
    sessionIdleTtlMs: int(env.SESSION_IDLE_TTL, 604_800) * 1000,
    rateLimits: {
      auth: parseRule(env.RATE_LIMIT_AUTH, { limit: 5, windowSeconds: 900 }),
      anonymous: parseRule(env.RATE_LIMIT_ANONYMOUS, { limit: 100, windowSeconds: 3600 }),
      standard: parseRule(env.RATE_LIMIT_STANDARD, { limit: 1000, windowSeconds: 3600 }),
      expensive: parseRule(env.RATE_LIMIT_EXPENSIVE, { limit: 10, windowSeconds: 3600 }),
      search: parseRule(env.RATE_LIMIT_SEARCH, { limit: 100, windowSeconds: 60 }),
      registration: parseRule(env.RATE_LIMIT_REGISTRATION, { limit: 10, windowSeconds: 3600 }),
      verifyResend: parseRule(env.RATE_LIMIT_VERIFY_RESEND, { limit: 3, windowSeconds: 3600 }),
      authFailures: parseRule(env.RATE_LIMIT_AUTH_FAILURES, { limit: 20, windowSeconds: 60 }),
    },
    // 0 turns the retry window off (every reuse revokes the family); capped at 60 s.
    refreshReuseIntervalMs: Math.min(60, Math.max(0, Number.parseInt(env.REFRESH_REUSE_INTERVAL ?? '10', 10) || 0)) * 1000,
    // The raw APP_ENV, not the 'development' fallback: a production env missing APP_ENV must not bypass.
    rateLimitBypass: env.APP_ENV === 'development' && env.RATE_LIMIT_BYPASS === 'true',
    upstash: upstashCredentials(env as OptionalSecrets),
    retention: {
      deletedUsersDays: int(env.RETENTION_DELETED_USERS_DAYS, 30),
      logsDays: int(env.RETENTION_LOGS_DAYS, 90),
      notificationsDays: int(env.RETENTION_NOTIFICATIONS_DAYS, 30),
    },
    apiDocs: apiDocsMode(env.API_DOCS, env.APP_ENV),
    webhooks: {
      // Hours, fractions allowed (tests use a few seconds); default 6.
      breakerMs: Math.round((Number.parseFloat(env.WEBHOOK_BREAKER_HOURS ?? '') > 0 ? Number.parseFloat(env.WEBHOOK_BREAKER_HOURS ?? '') : 6) * 3_600_000),
      retentionDays: int(env.RETENTION_WEBHOOK_DAYS, 30),
    },
  };
  cache.set(env, config);
  return config;
}
