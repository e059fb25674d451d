import { LogLevel, WorkerMailer } from 'worker-mailer';
import { displayName, headerValue, mailbox, redact } from './sanitize';
import type { EmailMessage, EmailSender, SendResult } from './types';

export interface SmtpOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  user?: string;
  password?: string;
  from: { name: string; address: string };
  timeoutMs?: number;
}

const PROVIDER = 'smtp';

// worker-mailer 1.2.1 reads replies with `if (!value) continue`, ignoring `done`: when the
// server closes the socket, read() spins on the ended stream forever (a microtask loop that
// starves even its own timeout) until the CPU limit kills the whole queue batch. This
// replacement ends the read with an error instead. Drop it once upstream checks `done`.
interface MailerInternals {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  read(): Promise<string>;
  auth(): Promise<void>;
  host: string;
  secure: boolean;
  startTls: boolean;
  supportsStartTls: boolean;
  credentials?: unknown;
}
const mailer = WorkerMailer.prototype as unknown as MailerInternals;
mailer.read = async function read(this: MailerInternals): Promise<string> {
  let response = '';
  for (;;) {
    const { value, done } = await this.reader.read();
    if (done) throw new Error('SMTP connection closed by the server');
    if (!value) continue;
    response += new TextDecoder().decode(value);
    if (!response.endsWith('\n')) continue;
    const lines = response.split(/\r?\n/);
    // A multi-line reply ("250-…") ends with a line without the dash.
    if (!/^\d+-/.test(lines[lines.length - 2] ?? '')) return response;
  }
};

export const isLoopback = (host: string) => host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';

// The library upgrades with STARTTLS only when the server advertises it, and otherwise sends
// AUTH in clear text: a network attacker who strips the STARTTLS line gets the password.
// Refuse to authenticate without TLS, except to a loopback server (local dev and tests).
const plainAuth = mailer.auth;
mailer.auth = async function auth(this: MailerInternals): Promise<void> {
  const tls = this.secure || (this.startTls && this.supportsStartTls);
  if (this.credentials && !tls && !isLoopback(this.host)) throw new Error('smtp auth refused: the server offers no TLS');
  return plainAuth.call(this);
};

/**
 * Email over SMTP from the Worker (TCP through `cloudflare:sockets`, via worker-mailer).
 * One connection per message: a queue batch is small and a long-lived connection cannot
 * outlive the invocation anyway. A 5xx reply is permanent, a 4xx or a socket error is
 * transient. Note: port 25 is blocked on Workers; use 587 (STARTTLS) or 465 (TLS).
 */
export class SmtpEmailSender implements EmailSender {
  readonly provider = PROVIDER;
  constructor(private readonly options: SmtpOptions) {}

  async send(message: EmailMessage): Promise<SendResult> {
    let to: string;
    let from: string;
    try {
      to = mailbox(message.to);
      from = mailbox(this.options.from.address);
    } catch {
      return { ok: false, provider: PROVIDER, retryable: false, reason: 'invalid address' };
    }
    const domain = from.split('@')[1];
    const messageId = `<${message.notificationId}@${domain}>`;
    try {
      await WorkerMailer.send(
        {
          host: this.options.host,
          port: this.options.port,
          secure: this.options.secure,
          startTls: !this.options.secure,
          credentials: this.options.user ? { username: this.options.user, password: this.options.password ?? '' } : undefined,
          authType: ['plain', 'login'],
          // The library's own logging would print addresses; errors are logged by the consumer, redacted.
          logLevel: LogLevel.NONE,
          socketTimeoutMs: this.options.timeoutMs ?? 10_000,
          responseTimeoutMs: this.options.timeoutMs ?? 10_000,
        },
        {
          from: { name: displayName(this.options.from.name), email: from },
          to: { email: to },
          subject: headerValue(message.subject, 200),
          text: message.text,
          html: message.html,
          // A stable Message-ID per notification lets receiving systems drop a duplicate.
          headers: { 'Message-ID': messageId },
        },
      );
      return { ok: true, provider: PROVIDER, providerMessageId: messageId };
    } catch (err) {
      return classifySmtpError(err);
    }
  }
}

/** SMTP reply codes: 5yz = permanent failure, 4yz = transient; no code = connection trouble. */
export function classifySmtpError(err: unknown): SendResult {
  const text = err instanceof Error ? err.message : String(err);
  const code = /(?:^|\s)([45])\d\d(?:[\s-]|$)/.exec(text);
  // worker-mailer's own wording for a refused or impossible login (not an address containing "auth").
  if (/^(Failed to \S+ authentication|Invalid login|No supported auth method|smtp server requires authentication|smtp auth refused)/.test(text)) {
    // A rejected login is a configuration problem: retry (and reach the DLQ alert) rather than drop mail.
    return { ok: false, provider: PROVIDER, retryable: true, reason: `smtp auth failed: ${redact(text, 120)}` };
  }
  if (code?.[1] === '5') return { ok: false, provider: PROVIDER, retryable: false, reason: `smtp rejected: ${redact(text)}` };
  return { ok: false, provider: PROVIDER, retryable: true, reason: `smtp transient: ${redact(text)}` };
}
