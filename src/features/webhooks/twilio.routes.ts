import { timingSafeEqualStrings } from '../../lib/crypto';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { log } from '../../lib/log';
import { defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';
import { secret } from '../notifications/notifications.config';
import { applyInboundSms } from '../notifications/preferences.service';
import { claimMessage, releaseMessage } from './twilio.service';

const inboundRoute = defineRoute({
  method: 'post',
  path: '/sms',
  summary: 'Inbound SMS from Twilio (form-encoded, X-Twilio-Signature verified): STOP opts out, START opts back in; each MessageSid is applied once',
  tags: ['webhooks'],
  access: PUBLIC,
  // Authenticated by the provider's signature; Twilio's shared egress IPs must not share a bucket.
  rateLimit: 'none',
  responses: {
    200: { description: 'Empty TwiML (also for a message already applied)' },
    400: { description: 'No E.164 From or no MessageSid', schema: ErrorResponse },
    403: { description: 'Missing or wrong signature', schema: ErrorResponse },
    404: { description: 'Twilio is not configured', schema: ErrorResponse },
  },
});

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
/** SM… (SMS) or MM… (MMS): two letters and 32 hex digits. */
const MESSAGE_SID = /^[A-Z]{2}[0-9a-f]{32}$/;

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

export const twilioRoutes = factory.createApp().post(inboundRoute.path, endpoint(inboundRoute), async (c) => {
  const token = secret(c.env, 'TWILIO_AUTH_TOKEN');
  if (!token) throw new AppError(404, 'NOT_FOUND');
  const form = c.var.formBody ?? new URLSearchParams();
  const given = c.req.header('X-Twilio-Signature') ?? '';
  if (!given || !(await timingSafeEqualStrings(given, await twilioSignature(token, c.req.url, form)))) {
    throw new AppError(403, 'FORBIDDEN', { reason: 'bad twilio signature' });
  }
  const from = form.get('From') ?? '';
  const body = form.get('Body') ?? '';
  const messageSid = form.get('MessageSid') ?? '';
  const details = [
    ...(/^\+[1-9]\d{6,14}$/.test(from) ? [] : [{ field: 'From', message: 'Expected an E.164 number' }]),
    ...(MESSAGE_SID.test(messageSid) ? [] : [{ field: 'MessageSid', message: 'Expected a Twilio message SID' }]),
  ];
  if (details.length > 0) throw new AppError(400, 'VALIDATION_ERROR', { details });
  const first = await claimMessage(c.var.db, messageSid);
  if (first) {
    try {
      const keyword = await applyInboundSms(c.var.db, from, body.slice(0, 1600));
      log('info', 'inbound sms', { keyword, from: `${from.slice(0, 4)}***` });
    } catch (err) {
      // Not applied: give the SID back so Twilio's retry of this message is applied.
      await releaseMessage(c.var.db, messageSid).catch(() => log('error', 'could not release a twilio message sid', { messageSid }));
      throw err;
    }
  } else {
    log('info', 'inbound sms replayed, ignored', { messageSid });
  }
  return c.body(EMPTY_TWIML, 200, { 'Content-Type': 'text/xml' });
});
