import { audit } from '../../lib/audit';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';
import { maskPhone } from './notifications.service';
import { PreferencesBody, PreferencesResponse, SmsConsentBody, SmsConsentList, SmsConsentPending, SmsConsentResponse, SmsConsentVerifyBody } from './preferences.schemas';
import { getPreferences, listSmsConsents, putPreferences } from './preferences.service';
import { CODE_TTL_MS, MAX_CODE_ATTEMPTS, pendingSmsOptIn, requestSmsOptIn, verifySmsOptIn, withdrawSmsConsent } from './sms-consent.service';

const getRoute = defineRoute({
  method: 'get',
  path: '/preferences',
  summary: "The caller's notification preferences per channel",
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Every channel, with defaults filled in', schema: PreferencesResponse } },
});

const putRoute = defineRoute({
  method: 'put',
  path: '/preferences',
  summary: 'Switch channels on or off and set personal quiet hours (security notifications are always delivered)',
  tags: ['notifications'],
  access: AUTHENTICATED,
  request: { body: PreferencesBody },
  responses: { 200: { description: 'The preferences after the change', schema: PreferencesResponse }, 400: { description: 'Invalid input', schema: ErrorResponse } },
});

const consentListRoute = defineRoute({
  method: 'get',
  path: '/sms-consent',
  summary: "The caller's recorded SMS consents, and the opt-in waiting for its code",
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Consents by phone number; `pending` is the opt-in awaiting verification, or null', schema: SmsConsentList } },
});

const consentPutRoute = defineRoute({
  method: 'put',
  path: '/sms-consent',
  summary:
    'Opt a number in to promotional SMS (double opt-in: a 6-digit code is texted to it, valid 10 minutes; nothing is recorded until POST /notifications/sms-consent/verify), or withdraw consent (immediate)',
  tags: ['notifications'],
  access: AUTHENTICATED,
  // Each opt-in sends an SMS: per-user budget, on top of the SMS caps per number and per user.
  rateLimit: 'expensive',
  request: { body: SmsConsentBody },
  responses: {
    200: { description: 'promotional: false — the withdrawal as recorded (a number held by another account stays with it)', schema: SmsConsentResponse },
    202: { description: 'promotional: true — a code was sent to the number; the same answer whoever holds it', schema: SmsConsentPending },
    400: { description: 'Invalid input', schema: ErrorResponse },
    429: { description: 'Too many codes requested', schema: ErrorResponse },
  },
});

const consentVerifyRoute = defineRoute({
  method: 'post',
  path: '/sms-consent/verify',
  summary: `Confirm the pending opt-in with the code texted to the number (${MAX_CODE_ATTEMPTS} attempts, ${CODE_TTL_MS / 60_000} minutes): records the consent and moves the number to the caller`,
  tags: ['notifications'],
  access: AUTHENTICATED,
  request: { body: SmsConsentVerifyBody },
  responses: {
    200: { description: 'The consent as recorded', schema: SmsConsentResponse },
    400: { description: 'Wrong, expired or exhausted code (request a new one with PUT)', schema: ErrorResponse },
  },
});

function ipPrefix(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.includes(':') ? `${ip.split(':').slice(0, 4).join(':')}::/64` : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

export const preferencesRoutes = factory
  .createApp()
  .get(getRoute.path, endpoint(getRoute), async (c) => c.json(await getPreferences(c.var.db, c.var.auth.userId)))
  .put(putRoute.path, endpoint(putRoute), async (c) => {
    const body = c.req.valid('json');
    const prefs = await putPreferences(c.var.db, c.var.auth.userId, body);
    audit(c, { action: 'notification.preferences_update', outcome: 'success', targetId: c.var.auth.userId, details: { channels: Object.keys(body.channels) } });
    return c.json(prefs);
  })
  .get(consentListRoute.path, endpoint(consentListRoute), async (c) => {
    const userId = c.var.auth.userId;
    const [data, pending] = await Promise.all([listSmsConsents(c.var.db, userId), pendingSmsOptIn(c.var.db, userId)]);
    return c.json({ data, pending });
  })
  .put(consentPutRoute.path, endpoint(consentPutRoute), async (c) => {
    const body = c.req.valid('json');
    const userId = c.var.auth.userId;
    // Proof of consent: when, from where (network prefix, not the full IP), with which client.
    const evidence = { at: new Date().toISOString(), ipPrefix: ipPrefix(c.req.header('CF-Connecting-IP')), userAgent: c.req.header('User-Agent')?.slice(0, 256) ?? null, requestId: c.var.requestId };
    const phone = maskPhone(body.phone);
    if (!body.promotional) {
      const consent = await withdrawSmsConsent(c.var.db, userId, body, evidence);
      audit(c, { action: 'notification.sms_consent', outcome: 'success', targetId: userId, details: { promotional: false, step: 'withdrawn', phone } });
      return c.json(consent, 200);
    }
    const pending = await requestSmsOptIn({ db: c.var.db, env: c.env }, userId, body, evidence);
    audit(c, { action: 'notification.sms_consent', outcome: 'success', targetId: userId, details: { promotional: true, step: 'code_sent', phone } });
    return c.json(pending, 202);
  })
  .post(consentVerifyRoute.path, endpoint(consentVerifyRoute), async (c) => {
    const userId = c.var.auth.userId;
    const result = await verifySmsOptIn(c.var.db, userId, c.req.valid('json').code);
    if (!result.ok) {
      audit(c, { action: 'notification.sms_consent', outcome: 'failure', targetId: userId, details: { promotional: true, step: 'verify', reason: result.reason, attemptsLeft: result.attemptsLeft } });
      throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'code', message: 'Invalid or expired code' }] });
    }
    audit(c, {
      action: 'notification.sms_consent',
      outcome: 'success',
      targetId: userId,
      details: { promotional: true, step: 'verified', phone: maskPhone(result.consent.phone), movedFromAnotherAccount: result.movedFromAnotherAccount },
    });
    return c.json(result.consent, 200);
  });
