import { classifyStatus, networkFailure, PROVIDER_TIMEOUT_MS, readJson } from './http';
import type { Fetcher, SendResult, SmsMessage, SmsSender } from './types';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** An E.164 number, or a Messaging Service SID (MG…). One per channel: never shared. */
  sender: string;
  /** `twilio-transactional` or `twilio-promotional`: recorded on each notification. */
  provider: string;
  baseUrl?: string;
  fetch?: Fetcher;
}

// Twilio error codes that will never succeed for this recipient.
const OPTED_OUT = new Set([21610]);
const PERMANENT = new Set([21211, 21214, 21408, 21612, 21614, 30004, 30005, 30006]);

/**
 * SMS through Twilio's REST API (plain fetch: the Node SDK does not run on Workers). The
 * transactional and promotional channels are two instances with separate senders, so a
 * STOP on the marketing sender never silences one-time codes, and vice versa.
 */
export class TwilioSmsSender implements SmsSender {
  readonly provider: string;
  private readonly fetch: Fetcher;
  constructor(private readonly options: TwilioOptions) {
    this.provider = options.provider;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async send(message: SmsMessage): Promise<SendResult> {
    const { accountSid, authToken, sender } = this.options;
    const form = new URLSearchParams({ To: message.to, Body: message.body });
    if (/^MG[0-9a-f]{32}$/i.test(sender)) form.set('MessagingServiceSid', sender);
    else form.set('From', sender);
    let res: Response;
    try {
      res = await this.fetch(`${this.options.baseUrl ?? 'https://api.twilio.com'}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`, {
        method: 'POST',
        headers: { Authorization: `Basic ${btoa(`${accountSid}:${authToken}`)}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      return networkFailure(this.provider, err);
    }
    const body = await readJson(res);
    // A 2xx means Twilio queued the message even when its body did not arrive intact.
    if (res.ok) return { ok: true, provider: this.provider, providerMessageId: typeof body.sid === 'string' ? body.sid : undefined };
    const code = typeof body.code === 'number' ? body.code : undefined;
    if (code !== undefined && OPTED_OUT.has(code)) {
      return { ok: false, provider: this.provider, retryable: false, optedOut: true, reason: `twilio ${code} recipient unsubscribed` };
    }
    if (code !== undefined && PERMANENT.has(code)) return { ok: false, provider: this.provider, retryable: false, reason: `twilio ${code}` };
    return classifyStatus(this.provider, res, `twilio ${code ?? 'error'}`);
  }
}
