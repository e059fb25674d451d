import { timingSafeEqualStrings } from '../../lib/crypto';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { log } from '../../lib/log';
import { defineRoute, PUBLIC } from '../../lib/route';
import { guard } from '../../middleware/guard';
import { secret } from '../notifications/notifications.config';
import { applyInboundSms } from '../notifications/preferences.service';

const inboundRoute = defineRoute({
  method: 'post',
  path: '/webhooks/twilio/sms',
  summary: 'Inbound SMS from Twilio (form-encoded, X-Twilio-Signature verified): STOP opts out, START opts back in',
  tags: ['webhooks'],
  access: PUBLIC,
  // Authenticated by the provider's signature; Twilio's shared egress IPs must not share a bucket.
  rateLimit: 'none',
  responses: { 200: { description: 'Empty TwiML' }, 403: { description: 'Missing or wrong signature' }, 404: { description: 'Twilio is not configured' } },
});

/**
 * Twilio's request signature: base64 HMAC-SHA1 over the full URL followed by every POST
 * parameter name and value, sorted by name (twilio.com/docs/usage/webhooks/webhooks-security).
 */
export async function twilioSignature(authToken: string, url: string, params: URLSearchParams): Promise<string> {
  const data = url + [...params.keys()].sort().map((k) => k + params.getAll(k).join('')).join('');
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(authToken), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...mac));
}

export const twilioRoutes = factory.createApp().post(inboundRoute.path, guard(inboundRoute), async (c) => {
  const token = secret(c.env, 'TWILIO_AUTH_TOKEN');
  if (!token) throw new AppError(404, 'NOT_FOUND');
  const form = c.var.formBody ?? new URLSearchParams();
  const given = c.req.header('X-Twilio-Signature') ?? '';
  if (!given || !(await timingSafeEqualStrings(given, await twilioSignature(token, c.req.url, form)))) {
    throw new AppError(403, 'FORBIDDEN', { reason: 'bad twilio signature' });
  }
  const from = form.get('From') ?? '';
  const body = form.get('Body') ?? '';
  if (!/^\+[1-9]\d{6,14}$/.test(from)) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'From', message: 'Expected an E.164 number' }] });
  const keyword = await applyInboundSms(c.var.db, from, body.slice(0, 1600));
  log('info', 'inbound sms', { keyword, from: `${from.slice(0, 4)}***` });
  return c.body('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, { 'Content-Type': 'text/xml' });
});
