import { log, maskEmail } from '../../../lib/log';
import type { EmailMessage, EmailSender, PushMessage, PushSender, SendResult, SmsMessage, SmsSender } from './types';

export interface RecordedMessage {
  channel: 'email' | 'push' | 'sms';
  provider: string;
  to: string;
  title: string;
  body: string;
  /** The notification id. */
  key: string;
  at: number;
}

// In-memory only, per isolate, bounded: a development aid, never a delivery.
const MAX_RECORDED = 500;
const recorded: RecordedMessage[] = [];

/**
 * Local development only: the dev inbox (scripts/dev-inbox.mjs) shows what the recording
 * providers "sent". Best effort: an inbox that is down never fails a delivery.
 */
async function forward(inboxUrl: string | undefined, entry: RecordedMessage): Promise<void> {
  if (!inboxUrl) return;
  try {
    await fetch(`${inboxUrl}/api/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: entry.channel, to: entry.to, subject: entry.title, text: entry.body, from: entry.provider }),
      signal: AbortSignal.timeout(1000),
    });
  } catch {
    log('warn', 'dev inbox unreachable', { channel: entry.channel });
  }
}

function keep(entry: RecordedMessage): void {
  recorded.push(entry);
  if (recorded.length > MAX_RECORDED) recorded.splice(0, recorded.length - MAX_RECORDED);
  log('info', 'notification recorded (no provider configured)', {
    channel: entry.channel,
    provider: entry.provider,
    to: entry.channel === 'email' ? maskEmail(entry.to) : `${entry.to.slice(0, 4)}***`,
    key: entry.key,
  });
}

/** What the recording providers have "sent" in this isolate (dev and tests). */
export function recordedMessages(filter?: (m: RecordedMessage) => boolean): RecordedMessage[] {
  return filter ? recorded.filter(filter) : [...recorded];
}

/** Records, logs and forwards one message, then reports it sent. */
async function recordSend(inboxUrl: string | undefined, message: Omit<RecordedMessage, 'at'>): Promise<SendResult> {
  const entry: RecordedMessage = { ...message, at: Date.now() };
  keep(entry);
  await forward(inboxUrl, entry);
  return { ok: true, provider: entry.provider, providerMessageId: `rec-${entry.key}` };
}

/** Used when no provider is configured: the message is recorded and logged, then reported sent. */
export class RecordingEmailSender implements EmailSender {
  readonly provider = 'recording';
  constructor(private readonly inboxUrl?: string) {}
  send(m: EmailMessage): Promise<SendResult> {
    return recordSend(this.inboxUrl, { channel: 'email', provider: this.provider, to: m.to, title: m.subject, body: m.text, key: m.notificationId });
  }
}

export class RecordingPushSender implements PushSender {
  constructor(
    readonly provider: string = 'recording',
    private readonly inboxUrl?: string,
  ) {}
  send(m: PushMessage): Promise<SendResult> {
    return recordSend(this.inboxUrl, { channel: 'push', provider: this.provider, to: m.token, title: m.title, body: m.body, key: m.notificationId });
  }
}

export class RecordingSmsSender implements SmsSender {
  constructor(
    readonly provider: string = 'recording',
    private readonly inboxUrl?: string,
  ) {}
  send(m: SmsMessage): Promise<SendResult> {
    return recordSend(this.inboxUrl, { channel: 'sms', provider: this.provider, to: m.to, title: '', body: m.body, key: m.notificationId });
  }
}
