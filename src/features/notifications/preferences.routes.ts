import { audit } from '../../lib/audit';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { validate } from '../../lib/validation';
import { guard } from '../../middleware/guard';
import { ErrorResponse } from '../docs/common.schemas';
import { PreferencesBody, PreferencesResponse, SmsConsentBody, SmsConsentList, SmsConsentResponse } from './preferences.schemas';
import { getPreferences, listSmsConsents, putPreferences, setSmsConsent } from './preferences.service';

const getRoute = defineRoute({
  method: 'get',
  path: '/notifications/preferences',
  summary: "The caller's notification preferences per channel",
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Every channel, with defaults filled in', schema: PreferencesResponse } },
});

const putRoute = defineRoute({
  method: 'put',
  path: '/notifications/preferences',
  summary: 'Switch channels on or off and set personal quiet hours (security notifications are always delivered)',
  tags: ['notifications'],
  access: AUTHENTICATED,
  request: { body: PreferencesBody },
  responses: { 200: { description: 'The preferences after the change', schema: PreferencesResponse }, 400: { description: 'Invalid input', schema: ErrorResponse } },
});

const consentListRoute = defineRoute({
  method: 'get',
  path: '/notifications/sms-consent',
  summary: "The caller's recorded SMS consents",
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Consents by phone number', schema: SmsConsentList } },
});

const consentPutRoute = defineRoute({
  method: 'put',
  path: '/notifications/sms-consent',
  summary: 'Record an opt-in to promotional SMS for a number, or withdraw it',
  tags: ['notifications'],
  access: AUTHENTICATED,
  rateLimit: 'expensive',
  request: { body: SmsConsentBody },
  responses: { 200: { description: 'The consent as recorded', schema: SmsConsentResponse }, 400: { description: 'Invalid input', schema: ErrorResponse } },
});

function ipPrefix(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.includes(':') ? `${ip.split(':').slice(0, 4).join(':')}::/64` : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

export const preferencesRoutes = factory
  .createApp()
  .get(getRoute.path, guard(getRoute), async (c) => c.json(await getPreferences(c.var.db, c.var.auth!.userId)))
  .put(putRoute.path, guard(putRoute), validate('json', PreferencesBody), async (c) => {
    const body = c.req.valid('json');
    const prefs = await putPreferences(c.var.db, c.var.auth!.userId, body);
    audit(c, { action: 'notification.preferences_update', outcome: 'success', targetId: c.var.auth!.userId, details: { channels: Object.keys(body.channels) } });
    return c.json(prefs);
  })
  .get(consentListRoute.path, guard(consentListRoute), async (c) => c.json({ data: await listSmsConsents(c.var.db, c.var.auth!.userId) }))
  .put(consentPutRoute.path, guard(consentPutRoute), validate('json', SmsConsentBody), async (c) => {
    const body = c.req.valid('json');
    // Proof of consent: when, from where (network prefix, not the full IP), with which client.
    const evidence = { at: new Date().toISOString(), ipPrefix: ipPrefix(c.req.header('CF-Connecting-IP')), userAgent: c.req.header('User-Agent')?.slice(0, 256) ?? null, requestId: c.var.requestId };
    const consent = await setSmsConsent(c.var.db, c.var.auth!.userId, body, evidence);
    audit(c, { action: 'notification.sms_consent', outcome: 'success', targetId: c.var.auth!.userId, details: { promotional: body.promotional, phone: `${body.phone.slice(0, 3)}***${body.phone.slice(-2)}` } });
    return c.json(consent);
  });
