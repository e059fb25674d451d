/**
 * Channel adapters: one per provider, each over `fetch` or a TCP socket, configured by
 * secrets. Adapters never throw for a provider's answer: they classify it, so the consumer
 * can ack, retry with backoff, or fail the message without guessing.
 */
export type SendResult =
  | { ok: true; provider: string; providerMessageId?: string }
  | {
      ok: false;
      provider: string;
      /** true: try again later (5xx, 429, timeouts); false: it will never work (bad address…). */
      retryable: boolean;
      /** Short, non-secret reason for the record and the logs (no address, no token). */
      reason: string;
      retryAfterSeconds?: number;
      /** Push: the provider says this device token is dead; remove it. */
      deadToken?: boolean;
      /** SMS: the provider says the recipient has opted out (STOP). */
      optedOut?: boolean;
    };

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Passed to providers that deduplicate on it (Resend Idempotency-Key, Message-ID). */
  idempotencyKey: string;
  /** Our notification id, used for the Message-ID header. */
  notificationId: string;
}

export interface PushMessage {
  token: string;
  title: string;
  body: string;
  data?: Record<string, string>;
  /** Our notification id (a UUID): APNs apns-id, FCM collapse tracking. */
  notificationId: string;
}

export interface SmsMessage {
  to: string;
  body: string;
  notificationId: string;
}

export interface EmailSender {
  readonly provider: string;
  send(message: EmailMessage): Promise<SendResult>;
}

export interface PushSender {
  readonly provider: string;
  send(message: PushMessage): Promise<SendResult>;
}

export interface SmsSender {
  readonly provider: string;
  send(message: SmsMessage): Promise<SendResult>;
}

/** Injected so tests can stand at the HTTP boundary; production uses the global fetch. */
export type Fetcher = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
