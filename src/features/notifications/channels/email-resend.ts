import { classifyStatus, networkFailure, PROVIDER_TIMEOUT_MS, readJson } from './http';
import { displayName, headerValue, mailbox } from './sanitize';
import type { EmailMessage, EmailSender, Fetcher, SendResult } from './types';

export interface ResendOptions {
  apiKey: string;
  from: { name: string; address: string };
  baseUrl?: string;
  fetch?: Fetcher;
}

const PROVIDER = 'resend';

/**
 * Email through Resend's HTTP API. The notification's idempotency key goes in Resend's
 * `Idempotency-Key` header, so a redelivered message within Resend's window is not sent twice.
 */
export class ResendEmailSender implements EmailSender {
  readonly provider = PROVIDER;
  private readonly fetch: Fetcher;
  constructor(private readonly options: ResendOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async send(message: EmailMessage): Promise<SendResult> {
    let to: string;
    try {
      to = mailbox(message.to);
    } catch {
      return { ok: false, provider: PROVIDER, retryable: false, reason: 'invalid address' };
    }
    const from = `${displayName(this.options.from.name)} <${mailbox(this.options.from.address)}>`;
    let res: Response;
    try {
      res = await this.fetch(`${this.options.baseUrl ?? 'https://api.resend.com'}/emails`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${this.options.apiKey}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': message.idempotencyKey.slice(0, 256),
        },
        body: JSON.stringify({ from, to: [to], subject: headerValue(message.subject, 200), text: message.text, html: message.html }),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      return networkFailure(PROVIDER, err);
    }
    const body = await readJson(res);
    // A 2xx means Resend took the mail, even when its body was lost on the way (cut off, or
    // read past the deadline): calling that a failure would record a sent mail as failed.
    if (res.ok) return { ok: true, provider: PROVIDER, providerMessageId: typeof body.id === 'string' ? body.id : undefined };
    // 409: the same idempotency key is in flight elsewhere; try again shortly.
    if (res.status === 409) return { ok: false, provider: PROVIDER, retryable: true, reason: 'idempotent request in progress (HTTP 409)', retryAfterSeconds: 30 };
    const name = typeof body.name === 'string' ? body.name.slice(0, 60) : 'error';
    return classifyStatus(PROVIDER, res, `resend ${name}`);
  }
}
