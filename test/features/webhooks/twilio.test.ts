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
    const stop = { From: phone, To: '+15559990000', Body: ' stop ' };
    expect((await post(stop, await twilioSignature(TOKEN, URL_, new URLSearchParams(stop)))).status).toBe(200);
    expect(await consent(phone)).toMatchObject({ transactional_opt_out: 1, promotional_opt_in: 0 });
    const start = { From: phone, To: '+15559990000', Body: 'START' };
    expect((await post(start, await twilioSignature(TOKEN, URL_, new URLSearchParams(start)))).status).toBe(200);
    expect((await consent(phone))?.transactional_opt_out).toBe(0);
  });

  it('refuses a missing, forged or replayed-with-changes signature with 403 and changes nothing', async () => {
    const phone = '+15550002222';
    const params = { From: phone, Body: 'STOP' };
    const good = await twilioSignature(TOKEN, URL_, new URLSearchParams(params));
    expect((await post(params, null)).status).toBe(403);
    expect((await post(params, await twilioSignature('wrong-token', URL_, new URLSearchParams(params)))).status).toBe(403);
    expect((await post({ ...params, From: '+15550003333' }, good)).status).toBe(403);
    expect(await consent(phone)).toBeNull();
  });

  it('is off (404) when Twilio is not configured', async () => {
    const params = { From: '+15550004444', Body: 'STOP' };
    expect((await post(params, 'anything', env)).status).toBe(404);
  });
});
