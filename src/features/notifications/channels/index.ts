import { getNotificationConfig, secret } from '../notifications.config';
import { ResendEmailSender } from './email-resend';
import type { SmtpOptions } from './email-smtp';
import { ApnsPushSender } from './push-apns';
import { FcmPushSender, parseServiceAccount } from './push-fcm';
import { RecordingEmailSender, RecordingPushSender, RecordingSmsSender } from './recording';
import { TwilioSmsSender } from './sms-twilio';
import type { EmailSender, PushSender, SmsSender } from './types';

/**
 * worker-mailer (the SMTP client, ~4 KiB gzip) is only in builds that ask for it, like the
 * Upstash limiter: `--define __SMTP_BUILD__:true` (npm run dev and the tests do; a deployment
 * that sends over SMTP sets it in its environment's `define`). Resend needs no such build.
 */
declare const __SMTP_BUILD__: boolean;

/**
 * The SMTP sender, loaded on first send. A build without it but configured for it fails each
 * message as retryable (a configuration problem: the retries end in the DLQ and its alert).
 */
function smtpEmailSender(options: SmtpOptions): EmailSender {
  let loaded: Promise<EmailSender> | undefined;
  return {
    provider: 'smtp',
    async send(message) {
      if (typeof __SMTP_BUILD__ !== 'undefined' && __SMTP_BUILD__) {
        loaded ??= import('./email-smtp').then((m) => new m.SmtpEmailSender(options));
        return (await loaded).send(message);
      }
      return { ok: false, provider: 'smtp', retryable: true, reason: 'SMTP_HOST is set, but this build excludes SMTP (build with --define __SMTP_BUILD__:true)' };
    },
  };
}

export interface Channels {
  email: EmailSender;
  fcm: PushSender;
  apns: PushSender;
  smsTransactional: SmsSender;
  smsPromotional: SmsSender;
}

/**
 * The adapters for this environment, chosen by which secrets are set: SMTP, else Resend, else
 * recording for email; FCM and APNs each when their keys are set; Twilio per SMS channel when
 * its own sender is set. Anything unconfigured records instead of sending (dev and tests).
 */
export function createChannels(env: CloudflareBindings, overrides: Partial<Channels> = {}): Channels {
  const config = getNotificationConfig(env);
  const from = config.emailFrom;
  // Set only by `npm run dev` (scripts/dev.mjs passes it with --var): never outside local development.
  const inbox = env.APP_ENV === 'development' ? secret(env, 'DEV_INBOX_URL') : undefined;

  let email: EmailSender = new RecordingEmailSender(inbox);
  const smtpHost = secret(env, 'SMTP_HOST');
  const resendKey = secret(env, 'RESEND_API_KEY');
  if (smtpHost) {
    const secure = secret(env, 'SMTP_SECURE') === 'true';
    const port = Number(secret(env, 'SMTP_PORT') ?? (secure ? 465 : 587));
    email = smtpEmailSender({ host: smtpHost, port, secure, user: secret(env, 'SMTP_USER'), password: secret(env, 'SMTP_PASSWORD'), from });
  } else if (resendKey) {
    email = new ResendEmailSender({ apiKey: resendKey, from });
  }

  const sa = secret(env, 'FCM_SERVICE_ACCOUNT_JSON');
  const serviceAccount = sa ? parseServiceAccount(sa) : null;
  const fcm: PushSender = serviceAccount ? new FcmPushSender({ serviceAccount }) : new RecordingPushSender('recording-fcm', inbox);

  const p8 = secret(env, 'APNS_KEY_P8');
  const keyId = secret(env, 'APNS_KEY_ID');
  const teamId = secret(env, 'APNS_TEAM_ID');
  const bundleId = secret(env, 'APNS_BUNDLE_ID');
  const apns: PushSender =
    p8 && keyId && teamId && bundleId
      ? new ApnsPushSender({ keyP8: p8.replace(/\\n/g, '\n'), keyId, teamId, bundleId, environment: config.apnsEnvironment })
      : new RecordingPushSender('recording-apns', inbox);

  const sid = secret(env, 'TWILIO_ACCOUNT_SID');
  const authToken = secret(env, 'TWILIO_AUTH_TOKEN');
  const sms = (sender: string | undefined, provider: string): SmsSender =>
    sid && authToken && sender ? new TwilioSmsSender({ accountSid: sid, authToken, sender, provider }) : new RecordingSmsSender(`recording-${provider}`, inbox);

  return {
    email,
    fcm,
    apns,
    smsTransactional: sms(secret(env, 'SMS_TRANSACTIONAL_SENDER'), 'twilio-transactional'),
    smsPromotional: sms(secret(env, 'SMS_PROMOTIONAL_SENDER'), 'twilio-promotional'),
    ...overrides,
  };
}
