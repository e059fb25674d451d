import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseColumns, softDeleteColumn, userRef } from '../columns';

/** Non-auth user data. Keyed by the user's public id: the two databases share no integer keys. */
export const profiles = sqliteTable(
  'profiles',
  {
    ...baseColumns(),
    ...softDeleteColumn(),
    userPublicId: userRef(),
    fullName: text(),
    locale: text(),
    timeZone: text(),
  },
  (t) => [uniqueIndex('profiles_user_public_id_uq').on(t.userPublicId), index('profiles_deleted_at_idx').on(t.deletedAt)],
);

// ---------------------------------------------------------------- notifications (issue 6)

export const NOTIFICATION_CHANNELS = ['email', 'push', 'sms_transactional', 'sms_promotional', 'in_app'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
/** security: always delivered (cannot be switched off); marketing: only with consent. */
export const NOTIFICATION_CATEGORIES = ['security', 'transactional', 'marketing'] as const;
export type NotificationCategory = (typeof NOTIFICATION_CATEGORIES)[number];
/** queued → sending → delivered | failed | suppressed (policy: opt-out, quiet hours, caps). */
export const NOTIFICATION_STATUSES = ['queued', 'sending', 'delivered', 'failed', 'suppressed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * One row per notification per channel. Bodies are stored only for in-app items (the inbox);
 * other channels keep the title only, so a reset link or an OTP never rests in the database.
 */
export const notifications = sqliteTable(
  'notifications',
  {
    ...baseColumns(),
    userPublicId: userRef(),
    channel: text({ enum: NOTIFICATION_CHANNELS }).notNull(),
    category: text({ enum: NOTIFICATION_CATEGORIES }).notNull(),
    kind: text().notNull(),
    idempotencyKey: text().notNull(),
    status: text({ enum: NOTIFICATION_STATUSES }).notNull().default('queued'),
    title: text().notNull(),
    body: text(),
    data: text({ mode: 'json' }).$type<Record<string, string>>(),
    recipientMasked: text(),
    /** SHA-256 of the normalised address: SMS caps count by it without storing the number twice. */
    recipientHash: text(),
    attempts: integer().notNull().default(0),
    /** A consumer holds the row while `sending` until this instant (crash recovery). */
    leaseUntil: integer({ mode: 'timestamp_ms' }),
    notBefore: integer({ mode: 'timestamp_ms' }),
    provider: text(),
    providerMessageId: text(),
    /** Why it failed or was suppressed; while retrying, the last transient error. */
    reason: text(),
    deliveredAt: integer({ mode: 'timestamp_ms' }),
    failedAt: integer({ mode: 'timestamp_ms' }),
    readAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('notifications_idempotency_key_uq').on(t.idempotencyKey),
    index('notifications_user_public_idx').on(t.userPublicId, t.publicId),
    index('notifications_user_channel_created_idx').on(t.userPublicId, t.channel, t.createdAt),
    index('notifications_user_read_idx').on(t.userPublicId, t.readAt),
    index('notifications_status_updated_idx').on(t.status, t.updatedAt),
    index('notifications_status_created_idx').on(t.status, t.createdAt),
    // GET /notifications/dead-letters: failed rows across users, newest first, keyset on the public id.
    index('notifications_status_public_idx').on(t.status, t.publicId),
    index('notifications_recipient_created_idx').on(t.recipientHash, t.createdAt),
    index('notifications_channel_created_idx').on(t.channel, t.createdAt),
  ],
);

/** Per user and channel; a missing row means the channel's default (enabled). */
export const notificationPreferences = sqliteTable(
  'notification_preferences',
  {
    ...baseColumns(),
    userPublicId: userRef(),
    channel: text({ enum: NOTIFICATION_CHANNELS }).notNull(),
    enabled: integer({ mode: 'boolean' }).notNull(),
    /** Minutes after local midnight; both null = no personal quiet hours. */
    quietStartMinute: integer(),
    quietEndMinute: integer(),
  },
  (t) => [uniqueIndex('notification_preferences_user_channel_uq').on(t.userPublicId, t.channel)],
);

export const DEVICE_PLATFORMS = ['ios', 'android', 'web'] as const;
export const PUSH_PROVIDERS = ['apns', 'fcm'] as const;

/** Push tokens registered by users' devices. A token belongs to one user at a time. */
export const devices = sqliteTable(
  'devices',
  {
    ...baseColumns(),
    userPublicId: userRef(),
    platform: text({ enum: DEVICE_PLATFORMS }).notNull(),
    provider: text({ enum: PUSH_PROVIDERS }).notNull(),
    token: text().notNull(),
    name: text(),
    lastSeenAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    uniqueIndex('devices_provider_token_uq').on(t.provider, t.token),
    index('devices_user_idx').on(t.userPublicId),
    index('devices_last_seen_idx').on(t.lastSeenAt),
  ],
);

/**
 * SMS consent per phone number (E.164): the recorded opt-in promotional SMS requires, and the
 * opt-outs (STOP, provider-reported) both channels honour. Kept as proof of consent.
 */
export const smsConsents = sqliteTable(
  'sms_consents',
  {
    ...baseColumns(),
    userPublicId: userRef(),
    phone: text().notNull(),
    promotionalOptIn: integer({ mode: 'boolean' }).notNull().default(false),
    promotionalChangedAt: integer({ mode: 'timestamp_ms' }),
    transactionalOptOut: integer({ mode: 'boolean' }).notNull().default(false),
    /** api | stop_keyword | provider | admin */
    source: text().notNull(),
    /** Evidence of an opt-in: the client's IP prefix and user agent at the time. */
    evidence: text({ mode: 'json' }).$type<Record<string, string | null>>(),
    timeZone: text(),
  },
  (t) => [uniqueIndex('sms_consents_phone_uq').on(t.phone), index('sms_consents_user_idx').on(t.userPublicId)],
);

/**
 * A pending promotional opt-in (double opt-in): the code sent to the number over the
 * transactional channel, stored only as a hash, valid 10 minutes and for 5 attempts. One per
 * user: a new request replaces the previous one. The consent is recorded only once the code
 * comes back (sms-consent.service.ts); expired rows are swept by the one-time-tokens job.
 */
export const smsConsentProofs = sqliteTable(
  'sms_consent_proofs',
  {
    ...baseColumns(),
    userPublicId: userRef(),
    phone: text().notNull(),
    /** SHA-256 of the code bound to the user and the number; the code itself is never stored. */
    codeHash: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    attempts: integer().notNull().default(0),
    /** Applied to the consent on verification (null: keep the consent's own). */
    timeZone: text(),
    /** Evidence of the request (IP prefix, user agent), carried into the consent. */
    evidence: text({ mode: 'json' }).$type<Record<string, string | null>>(),
  },
  (t) => [uniqueIndex('sms_consent_proofs_user_uq').on(t.userPublicId), index('sms_consent_proofs_expires_idx').on(t.expiresAt)],
);

/**
 * Inbound Twilio messages already applied, by MessageSid. Twilio retries a webhook it got no
 * answer for, and a captured request stays validly signed: the unique row, inserted before a
 * STOP/START is applied, makes each message count once. Purged after 7 days by the daily cron.
 */
export const twilioInbound = sqliteTable(
  'twilio_inbound',
  {
    ...baseColumns(),
    messageSid: text().notNull(),
  },
  (t) => [uniqueIndex('twilio_inbound_message_sid_uq').on(t.messageSid), index('twilio_inbound_created_at_idx').on(t.createdAt)],
);

/**
 * Client version policy per platform: below `minVersion` a client gets 426 UPGRADE_REQUIRED,
 * below `latestVersion` a soft-update hint. Read through an isolate + KV cache (≤ 60 s stale).
 */
export const clientVersions = sqliteTable(
  'client_versions',
  {
    ...baseColumns(),
    platform: text().notNull(),
    minVersion: text().notNull(),
    latestVersion: text().notNull(),
    updateUrl: text(),
  },
  (t) => [uniqueIndex('client_versions_platform_uq').on(t.platform)],
);

/**
 * Idempotency-Key records (SPEC "Edge API semantics"), one per caller and key: the unique
 * `key_hash` (SHA-256 of the caller's scope and the key; the key itself is never stored) is the
 * lock, claimed by one INSERT before the handler runs. `pending` rows expire after a minute (a
 * crashed request frees its key), finished ones 24 h after the first request; the response body
 * is AES-GCM encrypted under a key derived from the idempotency key (see
 * src/middleware/idempotency.ts). Purged by the 5-minute cron.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    ...baseColumns(),
    keyHash: text().notNull(),
    /** SHA-256 of method, path and body: the same key with another request is a 422. */
    requestHash: text().notNull(),
    state: text({ enum: ['pending', 'done'] }).notNull(),
    /** The request holding the lock: only it may finish or release the row. */
    lockId: text().notNull(),
    status: integer(),
    contentType: text(),
    /** base64url(iv).base64url(ciphertext) of the response body. */
    body: text(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('idempotency_keys_key_hash_uq').on(t.keyHash), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);

// ---------------------------------------------------------------- outbound webhooks (issue 18)

export const WEBHOOK_ENDPOINT_STATUSES = ['active', 'paused'] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

/**
 * An operator's subscription. The signing secret must be usable (HMAC), so it cannot be hashed:
 * it is AES-GCM encrypted (key HKDF-derived from MFA_ENCRYPTION_KEY). After a rotation the
 * previous secret keeps signing beside the new one until `previousSecretExpiresAt` (24 h).
 * `failingSince`: start of the current run of failed attempts (null once one succeeds); the
 * circuit breaker pauses the endpoint when it reaches WEBHOOK_BREAKER_HOURS.
 */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    ...baseColumns(),
    url: text().notNull(),
    description: text().notNull().default(''),
    eventTypes: text({ mode: 'json' }).notNull().$type<string[]>(),
    status: text({ enum: WEBHOOK_ENDPOINT_STATUSES }).notNull().default('active'),
    secretCiphertext: text().notNull(),
    previousSecretCiphertext: text(),
    previousSecretExpiresAt: integer({ mode: 'timestamp_ms' }),
    failingSince: integer({ mode: 'timestamp_ms' }),
    pausedAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [index('webhook_endpoints_status_idx').on(t.status)],
);

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * One event for one endpoint; its public id is the `webhook-id` header, the same on every
 * attempt and replay, so receivers deduplicate on it. Unique per (endpoint, event): a fan-out
 * run twice (audit batch retried) creates nothing new.
 */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    ...baseColumns(),
    endpointPublicId: text().notNull(),
    eventId: text().notNull(),
    eventType: text().notNull(),
    payload: text().notNull(),
    status: text({ enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer().notNull().default(0),
    reason: text(),
    deliveredAt: integer({ mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('webhook_deliveries_endpoint_event_uq').on(t.endpointPublicId, t.eventId), index('webhook_deliveries_endpoint_idx').on(t.endpointPublicId, t.id), index('webhook_deliveries_created_at_idx').on(t.createdAt)],
);

/** One HTTP attempt: status (null when no answer), duration, the first 1 KiB of the answer. */
export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    ...baseColumns(),
    deliveryPublicId: text().notNull(),
    responseStatus: integer(),
    ok: integer({ mode: 'boolean' }).notNull(),
    durationMs: integer().notNull(),
    responseBody: text(),
    error: text(),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryPublicId, t.id), index('webhook_attempts_created_at_idx').on(t.createdAt)],
);
