import { hmac } from '@oslojs/crypto/hmac';
import { SHA1 } from '@oslojs/crypto/sha1';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../../src/app';
import { twilioSignature } from '../../../src/features/webhooks/twilio.routes';

const URL_ = 'https://api.example.com/api/v1/webhooks/twilio/sms';
const TOKEN = 'twilio-test-auth-token';
const withToken = { ...env, TWILIO_AUTH_TOKEN: TOKEN };

async function post(params: Record<string, string>, signature: string | null, bindings: object = withToken): Promise<Response> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': '54.172.60.1' };
  if (signature !== null) headers['X-Twilio-Signature'] = signature;
  return app.request(URL_, { method: 'POST', headers, body: body.toString() }, bindings);
}

/** A fresh Twilio message SID (SM + 32 hex digits). */
function sid(): string {
  return `SM${crypto.randomUUID().replace(/-/g, '')}`;
}

/** Posts the params with their valid signature. */
async function signed(params: Record<string, string>): Promise<Response> {
  return post(params, await twilioSignature(TOKEN, URL_, new URLSearchParams(params)));
}

const seen = (messageSid: string) => env.APP_DB.prepare('SELECT count(*) AS n FROM twilio_inbound WHERE message_sid = ?').bind(messageSid).first<number>('n');

async function consent(phone: string) {
  return env.APP_DB.prepare('SELECT promotional_opt_in, transactional_opt_out FROM sms_consents WHERE phone = ?').bind(phone).first<{ promotional_opt_in: number; transactional_opt_out: number }>();
}

describe('Twilio inbound SMS webhook', () => {
  it('signs URL + sorted name/value pairs with HMAC-SHA1 (cross-checked with an independent HMAC)', async () => {
    const url = 'https://example.com/myapp.php?foo=1&bar=2';
    const params = new URLSearchParams({ To: '+18005551212', CallSid: 'CA1234567890ABCDE', From: '+12349013030', Digits: '1234' });
    const data = `${url}CallSidCA1234567890ABCDEDigits1234From+12349013030To+18005551212`;
    const expected = btoa(String.fromCharCode(...hmac(SHA1, new TextEncoder().encode('12345'), new TextEncoder().encode(data))));
    expect(await twilioSignature('12345', url, params)).toBe(expected);
  });

  it('records STOP as an opt-out of every SMS and START lifts it, only with a valid signature', async () => {
    const phone = '+15550001111';
    const stop = { From: phone, To: '+15559990000', Body: ' stop ', MessageSid: sid() };
    expect((await post(stop, await twilioSignature(TOKEN, URL_, new URLSearchParams(stop)))).status).toBe(200);
    expect(await consent(phone)).toMatchObject({ transactional_opt_out: 1, promotional_opt_in: 0 });
    const start = { From: phone, To: '+15559990000', Body: 'START', MessageSid: sid() };
    expect((await post(start, await twilioSignature(TOKEN, URL_, new URLSearchParams(start)))).status).toBe(200);
    expect((await consent(phone))?.transactional_opt_out).toBe(0);
  });

  it('refuses a missing, forged or replayed-with-changes signature with 403 and changes nothing', async () => {
    const phone = '+15550002222';
    const params = { From: phone, Body: 'STOP', MessageSid: sid() };
    const good = await twilioSignature(TOKEN, URL_, new URLSearchParams(params));
    expect((await post(params, null)).status).toBe(403);
    expect((await post(params, await twilioSignature('wrong-token', URL_, new URLSearchParams(params)))).status).toBe(403);
    expect((await post({ ...params, From: '+15550003333' }, good)).status).toBe(403);
    expect(await consent(phone)).toBeNull();
  });

  it('applies each MessageSid once: a replayed, validly signed STOP is acknowledged the same but changes nothing', async () => {
    const phone = '+15550005555';
    const stop = { From: phone, To: '+15559990000', Body: 'STOP', MessageSid: sid() };
    const first = await signed(stop);
    expect(first.status).toBe(200);
    const twiml = await first.text();
    expect((await signed({ From: phone, To: '+15559990000', Body: 'START', MessageSid: sid() })).status).toBe(200);
    expect((await consent(phone))?.transactional_opt_out).toBe(0);
    const replay = await signed(stop);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('Content-Type')).toMatch(/^text\/xml/);
    expect(await replay.text()).toBe(twiml);
    expect((await consent(phone))?.transactional_opt_out).toBe(0);
    expect(await seen(stop.MessageSid)).toBe(1);
  });

  it('records a message once when Twilio delivers it several times in parallel', async () => {
    const phone = '+15550006666';
    const stop = { From: phone, Body: 'STOP', MessageSid: sid() };
    const results = await Promise.all(Array.from({ length: 5 }, () => signed(stop)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await seen(stop.MessageSid)).toBe(1);
    expect(await consent(phone)).toMatchObject({ transactional_opt_out: 1 });
  });

  it('refuses a signed message without a valid MessageSid with 400 and records nothing', async () => {
    const phone = '+15550007777';
    const attempts: Record<string, string>[] = [{ From: phone, Body: 'STOP' }, { From: phone, Body: 'STOP', MessageSid: 'SM123' }];
    for (const params of attempts) {
      const res = await signed(params);
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { details: { field: string }[] } }>()).error.details.map((d) => d.field)).toEqual(['MessageSid']);
    }
    expect(await consent(phone)).toBeNull();
  });

  it('is off (404) when Twilio is not configured', async () => {
    const params = { From: '+15550004444', Body: 'STOP', MessageSid: sid() };
    expect((await post(params, 'anything', env)).status).toBe(404);
  });
});
