import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { ResendEmailSender } from '../../../src/features/notifications/channels/email-resend';
import { classifySmtpError, SmtpEmailSender } from '../../../src/features/notifications/channels/email-smtp';
import type { EmailMessage } from '../../../src/features/notifications/channels/types';
import { registerUser } from '../../helpers/api';
import { consume, emailInput, httpStub, jsonResponse, prepared, record } from './notification-helpers';

interface Received {
  mailFrom: string;
  rcptTo: string[];
  user: string | null;
  raw: string;
}

const smtp = inject('smtp');
const FROM = { name: 'app-ubr tests', address: 'no-reply@example.com' };

function smtpSender(overrides: Partial<ConstructorParameters<typeof SmtpEmailSender>[0]> = {}) {
  return new SmtpEmailSender({ host: smtp.host, port: smtp.port, secure: false, user: smtp.user, password: smtp.password, from: FROM, timeoutMs: 5000, ...overrides });
}

function message(to: string, overrides: Partial<EmailMessage> = {}): EmailMessage {
  const id = crypto.randomUUID();
  return { to, subject: 'Welcome', text: 'Hello there', idempotencyKey: `k-${id}`, notificationId: id, ...overrides };
}

async function inbox(to: string): Promise<Received[]> {
  return (await (await fetch(`${smtp.inboxUrl}?to=${encodeURIComponent(to)}`)).json()) as Received[];
}

/** Header lines of a raw message (before the first blank line), unfolded. */
function headers(raw: string): string[] {
  return raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]/g, ' ').split('\r\n');
}

const unique = (local: string) => `${local}-${crypto.randomUUID().slice(0, 8)}@example.com`;

describe('email over SMTP (against a real smtp-server)', () => {
  it('authenticates and delivers the message with a stable Message-ID', async () => {
    const to = unique('alice');
    const m = message(to, { subject: 'Café ✓ welcome', text: 'Line one\nLine two' });
    const result = await smtpSender().send(m);
    expect(result).toEqual({ ok: true, provider: 'smtp', providerMessageId: `<${m.notificationId}@example.com>` });
    const [mail] = await inbox(to);
    expect(mail).toMatchObject({ mailFrom: 'no-reply@example.com', rcptTo: [to], user: 'mailer' });
    const h = headers(mail!.raw);
    expect(h).toContain(`To: ${to}`);
    expect(h).toContain(`Message-ID: <${m.notificationId}@example.com>`);
    expect(h.find((l) => l.startsWith('From:'))).toBe('From: "app-ubr tests" <no-reply@example.com>');
    // Non-ASCII subjects are RFC 2047-encoded, never raw bytes in a header.
    expect(h.find((l) => l.startsWith('Subject:'))).toMatch(/^Subject: =\?UTF-8\?Q\?Caf=C3=A9/);
    expect(mail!.raw).toContain('Line one\r\nLine two');
  });

  it('cannot be made to inject headers or recipients through the subject or the sender name', async () => {
    const to = unique('bob');
    const victim = unique('victim');
    const evil = smtpSender({ from: { name: `Support"\r\nBcc: ${victim}\r\nX-Evil: 1`, address: FROM.address } });
    const result = await evil.send(message(to, { subject: `Hi\r\nBcc: ${victim}\r\nContent-Type: text/html` }));
    expect(result.ok).toBe(true);
    const [mail] = await inbox(to);
    expect(mail!.rcptTo).toEqual([to]);
    expect(await inbox(victim)).toEqual([]);
    const h = headers(mail!.raw);
    expect(h.filter((l) => /^(Bcc|X-Evil):/i.test(l))).toEqual([]);
    expect(h.filter((l) => l.startsWith('Subject:'))).toEqual([`Subject: Hi Bcc: ${victim} Content-Type: text/html`]);
    expect(h.filter((l) => /^Content-Type:/i.test(l))).toHaveLength(1);
  });

  it('refuses an address that carries an SMTP command', async () => {
    const result = await smtpSender().send(message('x@example.com>\r\nRCPT TO:<victim@example.com'));
    expect(result).toMatchObject({ ok: false, retryable: false, reason: 'invalid address' });
  });

  it('keeps a body line holding a lone dot from ending the message early (dot-stuffing)', async () => {
    const to = unique('carol');
    await smtpSender().send(message(to, { text: 'before\r\n.\r\nMAIL FROM:<spoof@example.com>\r\nafter' }));
    const [mail] = await inbox(to);
    expect(mail!.raw).toContain('after');
    expect(mail!.mailFrom).toBe('no-reply@example.com');
  });

  it('classifies a 550 as permanent and a 451 as transient', async () => {
    const perm = await smtpSender().send(message(unique('reject-perm-author')));
    expect(perm).toMatchObject({ ok: false, retryable: false });
    expect(perm.ok ? '' : perm.reason).toMatch(/^smtp rejected: .*550/);
    expect(perm.ok ? '' : perm.reason).not.toContain('@');
    const temp = await smtpSender().send(message(unique('reject-temp')));
    expect(temp).toMatchObject({ ok: false, retryable: true });
  });

  it('retries (never drops) mail when the server refuses the credentials', async () => {
    const result = await smtpSender({ password: 'wrong' }).send(message(unique('dave')));
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.ok ? '' : result.reason).toMatch(/auth/i);
    expect(result.ok ? '' : result.reason).not.toContain('wrong');
  });

  it('never sends credentials in clear text to a server that offers no TLS (STARTTLS stripping)', async () => {
    const { WorkerMailer } = await import('worker-mailer');
    const auth = (WorkerMailer.prototype as unknown as { auth(this: object): Promise<void> }).auth;
    const stripped = { host: 'smtp.example.com', secure: false, startTls: true, supportsStartTls: false, credentials: { username: 'u', password: 'p' } };
    await expect(auth.call(stripped)).rejects.toThrow(/no TLS/);
    expect(classifySmtpError(new Error('smtp auth refused: the server offers no TLS'))).toMatchObject({ ok: false, retryable: true });
  });

  it('fails over to a retry, instead of hanging, when the server drops the connection', async () => {
    const result = await smtpSender({ port: smtp.closingPort }).send(message(unique('erin')));
    expect(result).toMatchObject({ ok: false, retryable: true });
  });

  it('delivers end to end: notify record → consumer → SMTP server → delivered', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id, { kind: 'auth.verify_email', category: 'security', content: { title: 'Verify your email', body: 'Your link: https://example.com/v/abc' } }));
    const smtpEnv = { ...env, SMTP_HOST: smtp.host, SMTP_PORT: String(smtp.port), SMTP_USER: smtp.user, SMTP_PASSWORD: smtp.password };
    const result = await consume([m!], { env: smtpEnv });
    expect(result.explicitAcks).toHaveLength(1);
    const row = await record(m!.id);
    expect(row).toMatchObject({ status: 'delivered', provider: 'smtp', providerMessageId: `<${m!.id}@example.com>` });
    const mail = await inbox(user.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.raw).toContain('Subject: Verify your email');
    expect(mail[0]!.raw).toContain('https://example.com/v/abc');
    // The link lives in the queue message only, never in the database.
    expect(row.body).toBeNull();
  });
});

describe('email over Resend (HTTP boundary)', () => {
  const ok = () => jsonResponse(200, { id: 're_123' });

  it('posts the message with the idempotency key and a sanitised subject', async () => {
    const stub = httpStub([ok()]);
    const sender = new ResendEmailSender({ apiKey: 're_test_key', from: FROM, fetch: stub.fetch });
    const m = message('erin@example.com', { subject: 'Hi\r\nBcc: x@example.com', html: '<p>Hello</p>' });
    expect(await sender.send(m)).toEqual({ ok: true, provider: 'resend', providerMessageId: 're_123' });
    const req = stub.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('https://api.resend.com/emails');
    expect(req.headers.get('Authorization')).toBe('Bearer re_test_key');
    expect(req.headers.get('Idempotency-Key')).toBe(m.idempotencyKey);
    expect(await req.json()).toEqual({ from: 'app-ubr tests <no-reply@example.com>', to: ['erin@example.com'], subject: 'Hi Bcc: x@example.com', text: 'Hello there', html: '<p>Hello</p>' });
  });

  it('retries 429 after Retry-After and 5xx; fails a 422 for good', async () => {
    const send = async (res: Response) => new ResendEmailSender({ apiKey: 'k', from: FROM, fetch: httpStub([res]).fetch }).send(message('f@example.com'));
    expect(await send(jsonResponse(429, { name: 'rate_limit_exceeded' }, { 'Retry-After': '30' }))).toMatchObject({ ok: false, retryable: true, retryAfterSeconds: 30 });
    expect(await send(jsonResponse(503, {}))).toMatchObject({ ok: false, retryable: true });
    expect(await send(jsonResponse(422, { name: 'validation_error' }))).toMatchObject({ ok: false, retryable: false, reason: 'resend validation_error (HTTP 422)' });
  });

  it('counts a 200 whose body was lost (cut off, read past the deadline) as delivered, not failed', async () => {
    const cut = () => new Response('{"id":"re_', { status: 200, headers: { 'Content-Type': 'application/json' } });
    const sender = new ResendEmailSender({ apiKey: 'k', from: FROM, fetch: httpStub([cut]).fetch });
    expect(await sender.send(message('h@example.com'))).toEqual({ ok: true, provider: 'resend', providerMessageId: undefined });
  });

  it('treats a network error or timeout as transient', async () => {
    const sender = new ResendEmailSender({ apiKey: 'k', from: FROM, fetch: () => Promise.reject(new DOMException('timed out', 'TimeoutError')) });
    expect(await sender.send(message('g@example.com'))).toMatchObject({ ok: false, retryable: true, reason: 'provider timeout' });
  });
});
