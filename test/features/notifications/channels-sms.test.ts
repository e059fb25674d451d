import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { notifications, smsConsents } from '../../../src/db/schema/app';
import { applyInboundSms, parseKeyword } from '../../../src/features/notifications/preferences.service';
import { sha256Hex } from '../../../src/lib/crypto';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { TwilioSmsSender } from '../../../src/features/notifications/channels/sms-twilio';
import { registerUser } from '../../helpers/api';
import { consume, db, httpStub, jsonResponse, optInSms, prepared, record } from './notification-helpers';

let phoneSeq = 0;
/** A fresh US number per test, so caps and consents never leak between tests. */
function phone(): string {
  phoneSeq += 1;
  return `+1415${String(Math.floor(Math.random() * 900) + 100)}${String(phoneSeq).padStart(4, '0')}`;
}

const NOON_UTC = new Date(Date.UTC(2026, 5, 15, 12, 0, 0));
const TEN_PM_PARIS = new Date(Date.UTC(2026, 5, 15, 20, 0, 0)); // CEST = UTC+2

function sms(userId: string, to: string, channel: 'sms_transactional' | 'sms_promotional', body = 'Your code is 123456') {
  return { userId, channels: [channel], category: channel === 'sms_promotional' ? 'marketing' : 'transactional', kind: 'test.sms', to: { phone: to }, content: { title: 'SMS', body } };
}

/** Double opt-in (code texted to the number, then confirmed): see sms-consent.test.ts. */
async function optIn(token: string, to: string, timeZone = 'Europe/Paris') {
  await optInSms(token, to, timeZone);
}

describe('Twilio SMS (HTTP boundary)', () => {
  const ok = () => jsonResponse(201, { sid: 'SM123' });

  it('posts a form with basic auth, using a Messaging Service SID or a From number per channel', async () => {
    const stub = httpStub([ok()]);
    const promo = new TwilioSmsSender({ accountSid: 'AC123', authToken: 'secret', sender: `MG${'0'.repeat(32)}`, provider: 'twilio-promotional', fetch: stub.fetch });
    expect(await promo.send({ to: '+14155550100', body: 'Sale!', notificationId: 'n1' })).toEqual({ ok: true, provider: 'twilio-promotional', providerMessageId: 'SM123' });
    const txn = new TwilioSmsSender({ accountSid: 'AC123', authToken: 'secret', sender: '+14155550199', provider: 'twilio-transactional', fetch: stub.fetch });
    await txn.send({ to: '+14155550100', body: 'Code 1', notificationId: 'n2' });
    const [a, b] = stub.requests;
    expect(a!.url).toBe('https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json');
    expect(a!.headers.get('Authorization')).toBe(`Basic ${btoa('AC123:secret')}`);
    const formA = new URLSearchParams(new TextDecoder().decode(await a!.arrayBuffer()));
    expect(Object.fromEntries(formA)).toEqual({ To: '+14155550100', Body: 'Sale!', MessagingServiceSid: `MG${'0'.repeat(32)}` });
    const formB = new URLSearchParams(new TextDecoder().decode(await b!.arrayBuffer()));
    expect(formB.get('From')).toBe('+14155550199');
    expect(formB.has('MessagingServiceSid')).toBe(false);
  });

  it('maps 21610 to an opt-out, invalid numbers to permanent failures, 429/5xx to retries', async () => {
    const send = (res: Response) => new TwilioSmsSender({ accountSid: 'AC1', authToken: 't', sender: '+14155550199', provider: 'twilio-transactional', fetch: httpStub([res]).fetch }).send({ to: '+14155550100', body: 'x', notificationId: 'n' });
    expect(await send(jsonResponse(400, { code: 21610, message: 'Attempt to send to unsubscribed recipient' }))).toMatchObject({ ok: false, optedOut: true, retryable: false });
    expect(await send(jsonResponse(400, { code: 21211, message: 'Invalid To' }))).toMatchObject({ ok: false, retryable: false, reason: 'twilio 21211' });
    expect(await send(jsonResponse(429, { code: 20429 }, { 'Retry-After': '5' }))).toMatchObject({ ok: false, retryable: true, retryAfterSeconds: 5 });
    expect(await send(jsonResponse(500, {}))).toMatchObject({ ok: false, retryable: true });
  });

  it('counts a 201 whose body was cut off as sent: a retry would text the person twice', async () => {
    const cut = new Response('{"sid":"SM', { status: 201, headers: { 'Content-Type': 'application/json' } });
    const sender = new TwilioSmsSender({ accountSid: 'AC1', authToken: 't', sender: '+14155550199', provider: 'twilio-transactional', fetch: httpStub([cut]).fetch });
    expect(await sender.send({ to: '+14155550100', body: 'x', notificationId: 'n' })).toEqual({ ok: true, provider: 'twilio-transactional', providerMessageId: undefined });
  });
});

describe('SMS policy in the consumer', () => {
  it('sends promotional SMS only with a recorded opt-in', async () => {
    const user = await registerUser();
    const to = phone();
    const [before] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    await consume([before!], { now: () => NOON_UTC });
    expect(await record(before!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_no_consent' });

    await optIn(user.accessToken, to, 'UTC');
    const [after] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    await consume([after!], { now: () => NOON_UTC });
    expect(await record(after!.id)).toMatchObject({ status: 'delivered', provider: 'recording-twilio-promotional' });
    expect(recordedMessages((m) => m.key === after!.id)).toHaveLength(1);
  });

  it('defers promotional SMS during quiet hours in the recipient time zone, without spending retries', async () => {
    const user = await registerUser();
    const to = phone();
    await optIn(user.accessToken, to, 'Europe/Paris');
    const [m] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    const r = await consume([m!], { now: () => TEN_PM_PARIS });
    expect(r.explicitAcks).toHaveLength(1);
    expect(r.retryMessages).toHaveLength(0);
    const row = await record(m!.id);
    expect(row).toMatchObject({ status: 'queued', reason: 'deferred: quiet_hours' });
    // 22:00 in Paris → 08:00 next morning: ten hours later (plus the one-minute margin).
    expect(row.notBefore!.getTime() - TEN_PM_PARIS.getTime()).toBe((10 * 3600 + 60) * 1000);
    expect(recordedMessages((x) => x.key === m!.id)).toHaveLength(0);

    // A transactional code at the same hour goes out at once.
    const [code] = await prepared(sms(user.user.id, to, 'sms_transactional'));
    await consume([code!], { now: () => TEN_PM_PARIS });
    expect((await record(code!.id)).status).toBe('delivered');

    // After three deferrals, it is dropped rather than bounced around forever.
    const [late] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    await consume([{ ...late!, deferrals: 3 }], { now: () => TEN_PM_PARIS });
    expect(await record(late!.id)).toMatchObject({ status: 'suppressed', reason: 'quiet_hours' });
  });

  it('honours STOP on both channels and START lifts it', async () => {
    const user = await registerUser();
    const to = phone();
    await optIn(user.accessToken, to, 'UTC');
    expect(parseKeyword('  stop ')).toBe('opt_out');
    expect(parseKeyword('please stop')).toBeNull();
    expect(await applyInboundSms(db(), to, 'STOP')).toBe('opt_out');
    const [promo] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    const [code] = await prepared(sms(user.user.id, to, 'sms_transactional'));
    await consume([promo!, code!], { now: () => NOON_UTC });
    expect(await record(promo!.id)).toMatchObject({ status: 'suppressed' });
    expect(await record(code!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_opted_out' });

    expect(await applyInboundSms(db(), to, 'START')).toBe('opt_in');
    const [again] = await prepared(sms(user.user.id, to, 'sms_transactional'));
    await consume([again!], { now: () => NOON_UTC });
    expect((await record(again!.id)).status).toBe('delivered');
    // START does not restore marketing consent: that needs a fresh opt-in.
    const consent = await db().app.select().from(smsConsents).where(eq(smsConsents.phone, to)).get();
    expect(consent?.promotionalOptIn).toBe(false);
  });

  it('records the opt-out Twilio reports (21610) and suppresses the message', async () => {
    const user = await registerUser();
    const to = phone();
    await optIn(user.accessToken, to, 'UTC');
    const [m] = await prepared(sms(user.user.id, to, 'sms_promotional'));
    const stopped = new TwilioSmsSender({ accountSid: 'AC1', authToken: 't', sender: '+14155550199', provider: 'twilio-promotional', fetch: httpStub([jsonResponse(400, { code: 21610 })]).fetch });
    await consume([m!], { now: () => NOON_UTC, channels: { smsPromotional: stopped } });
    expect(await record(m!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_opted_out' });
    expect((await db().app.select().from(smsConsents).where(eq(smsConsents.phone, to)).get())?.promotionalOptIn).toBe(false);
  });

  it('refuses destinations outside the allowed country prefixes (SMS pumping)', async () => {
    const user = await registerUser();
    const [m] = await prepared(sms(user.user.id, '+88212345678', 'sms_transactional'));
    await consume([m!], { now: () => NOON_UTC });
    expect(await record(m!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_destination_not_allowed' });
  });

  it('caps SMS per number per hour, per user per day and per account per hour', async () => {
    const user = await registerUser();
    const to = phone();
    const hash = await sha256Hex(to);
    // Five rows per statement: D1 binds at most 100 parameters.
    const seed = async (n: number, userId: string, recipientHash: string | null) => {
      for (let i = 0; i < n; i += 5) {
        await db().app.insert(notifications).values(
          Array.from({ length: Math.min(5, n - i) }, () => ({ userPublicId: userId, channel: 'sms_transactional' as const, category: 'transactional' as const, kind: 'seed', idempotencyKey: crypto.randomUUID(), status: 'delivered' as const, title: 'x', recipientHash, createdAt: new Date(NOON_UTC.getTime() - 600_000) })),
        );
      }
    };
    await seed(5, crypto.randomUUID(), hash);
    const [perNumber] = await prepared(sms(user.user.id, to, 'sms_transactional'));
    await consume([perNumber!], { now: () => NOON_UTC });
    expect(await record(perNumber!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_cap_number' });

    const other = await registerUser();
    await seed(20, other.user.id, null);
    const [perUser] = await prepared(sms(other.user.id, phone(), 'sms_transactional'));
    await consume([perUser!], { now: () => NOON_UTC });
    expect(await record(perUser!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_cap_user' });

    const [global] = await prepared(sms(user.user.id, phone(), 'sms_transactional'));
    await consume([global!], { now: () => NOON_UTC, env: { ...env, SMS_MAX_GLOBAL_PER_HOUR: '3' } });
    expect(await record(global!.id)).toMatchObject({ status: 'suppressed', reason: 'sms_cap_global' });
  });

  it('keeps staging away from real people: recipients outside the allowlist are suppressed', async () => {
    const user = await registerUser();
    const stagingEnv = { ...env, NOTIFY_RECIPIENT_ALLOWLIST: '@staging.example.com,+15005550006' };
    const [mail] = await prepared({ userId: user.user.id, channels: ['email'], category: 'transactional', kind: 'x', content: { title: 'Hi', body: 'x' } });
    const [text] = await prepared(sms(user.user.id, phone(), 'sms_transactional'));
    const [allowed] = await prepared(sms(user.user.id, '+15005550006', 'sms_transactional'));
    await consume([mail!, text!, allowed!], { env: stagingEnv, now: () => NOON_UTC });
    expect(await record(mail!.id)).toMatchObject({ status: 'suppressed', reason: 'recipient_not_in_allowlist' });
    expect(await record(text!.id)).toMatchObject({ status: 'suppressed', reason: 'recipient_not_in_allowlist' });
    expect((await record(allowed!.id)).status).toBe('delivered');
  });
});
