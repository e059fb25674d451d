/**
 * Typed view of the notification vars and (optional) provider secrets. Secrets are read by
 * name because they are optional: an unset or empty secret means "provider not configured",
 * and the recording provider is used instead.
 */
export interface NotificationConfig {
  emailFrom: { name: string; address: string };
  apnsEnvironment: 'sandbox' | 'production';
  /** Empty = anyone; else "@domain" suffixes and exact E.164 numbers. */
  recipientAllowlist: string[];
  defaultTimeZone: string;
  sms: {
    allowedPrefixes: string[] | '*';
    maxPerNumberPerHour: number;
    maxPerUserPerDay: number;
    maxGlobalPerHour: number;
    /** Legal quiet hours for promotional SMS, minutes after local midnight. */
    quietHours: { start: number; end: number } | null;
  };
}

const cache = new WeakMap<object, NotificationConfig>();

function int(value: string | undefined, fallback: number): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** "21:00-08:00" → minutes after midnight; anything malformed → null. */
export function parseQuietHours(value: string | undefined): { start: number; end: number } | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(value?.trim() ?? '');
  if (!m) return null;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  return start === end ? null : { start, end };
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function getNotificationConfig(env: Partial<CloudflareBindings>): NotificationConfig {
  const hit = cache.get(env);
  if (hit) return hit;
  const prefixes = list(env.SMS_ALLOWED_COUNTRY_PREFIXES);
  const tz = env.NOTIFY_DEFAULT_TIME_ZONE?.trim() || 'UTC';
  const config: NotificationConfig = {
    emailFrom: { name: env.EMAIL_FROM_NAME?.trim() || 'app-ubr', address: env.EMAIL_FROM_ADDRESS?.trim() || 'no-reply@example.com' },
    apnsEnvironment: env.APNS_ENVIRONMENT === 'production' ? 'production' : 'sandbox',
    recipientAllowlist: list(env.NOTIFY_RECIPIENT_ALLOWLIST).map((s) => s.toLowerCase()),
    defaultTimeZone: isValidTimeZone(tz) ? tz : 'UTC',
    sms: {
      allowedPrefixes: prefixes.includes('*') ? '*' : prefixes,
      maxPerNumberPerHour: int(env.SMS_MAX_PER_NUMBER_PER_HOUR, 5),
      maxPerUserPerDay: int(env.SMS_MAX_PER_USER_PER_DAY, 20),
      maxGlobalPerHour: int(env.SMS_MAX_GLOBAL_PER_HOUR, 500),
      quietHours: parseQuietHours(env.SMS_QUIET_HOURS),
    },
  };
  cache.set(env, config);
  return config;
}

/** Optional provider secrets (`wrangler secret put`; `.dev.vars` locally). */
export const PROVIDER_SECRETS = [
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTP_SECURE',
  'SMTP_USER',
  'SMTP_PASSWORD',
  'RESEND_API_KEY',
  'FCM_SERVICE_ACCOUNT_JSON',
  'APNS_KEY_P8',
  'APNS_KEY_ID',
  'APNS_TEAM_ID',
  'APNS_BUNDLE_ID',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'SMS_TRANSACTIONAL_SENDER',
  'SMS_PROMOTIONAL_SENDER',
  'ALERT_WEBHOOK_URL',
  /** Local development only (scripts/dev.mjs): the dev inbox the recording providers copy to. */
  'DEV_INBOX_URL',
] as const;
export type ProviderSecret = (typeof PROVIDER_SECRETS)[number];

/** A provider secret, or undefined when unset or empty. */
export function secret(env: object, name: ProviderSecret): string | undefined {
  const value = (env as Record<string, unknown>)[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Is this address allowed by the environment's allowlist (staging never reaches real people)? */
export function recipientAllowed(config: NotificationConfig, address: string): boolean {
  if (config.recipientAllowlist.length === 0) return true;
  const a = address.toLowerCase();
  return config.recipientAllowlist.some((rule) => (rule.startsWith('@') ? a.endsWith(rule) : a === rule));
}
