import type { Databases } from '../../db/client';
import { notify } from '../notifications/notifications.service';

/**
 * What a security-relevant change does besides its own write: it tells the account owner
 * (seed 002 step 9: "your password was changed", with time and device) and closes the live
 * sockets of the sessions it ended. Both run after the response and never fail the request.
 */
export type SecurityEvent = 'password_changed' | 'password_reset' | 'mfa_enabled' | 'mfa_disabled' | 'email_changed' | 'email_changed_by_admin' | 'passkey_added';

const SUBJECTS: Record<SecurityEvent, { title: string; what: string }> = {
  password_changed: { title: 'Your password was changed', what: 'The password of your account was changed' },
  password_reset: { title: 'Your password was reset', what: 'The password of your account was reset with a link sent to this address; every device was signed out' },
  mfa_enabled: { title: 'Two-factor authentication is on', what: 'Two-factor authentication was turned on for your account; other devices were signed out' },
  mfa_disabled: { title: 'Two-factor authentication is off', what: 'Two-factor authentication was turned off for your account; other devices were signed out' },
  email_changed: { title: 'Your email address was changed', what: 'The email address of your account was changed to another address; other devices were signed out' },
  email_changed_by_admin: { title: 'Your email address was changed by an administrator', what: 'An administrator changed the email address of your account to another address; you were signed out everywhere' },
  passkey_added: { title: 'A passkey was added to your account', what: 'A new passkey (it signs in without a password) was added to your account' },
};

export interface SecurityNotice {
  userId: string;
  /** Where the notice goes: for an email change, the old address. */
  email: string;
  event: SecurityEvent;
  userAgent?: string | null;
  at?: Date;
}

/** Queues the security notice (category `security`: never suppressed by preferences). */
export async function sendSecurityNotice(deps: { db: Databases; env: Pick<CloudflareBindings, 'NOTIFY_QUEUE'> }, notice: SecurityNotice): Promise<void> {
  const subject = SUBJECTS[notice.event];
  const at = (notice.at ?? new Date()).toISOString().replace('T', ' ').slice(0, 16);
  const device = notice.userAgent ? notice.userAgent.slice(0, 120) : 'an unknown device';
  await notify(deps, {
    userId: notice.userId,
    channels: ['email'],
    category: 'security',
    kind: `auth.${notice.event}`,
    to: { email: notice.email },
    content: {
      title: subject.title,
      body: `${subject.what} on ${at} UTC, from ${device}.\n\nIf this was you, nothing else is needed. If it was not, reset your password now and review the devices signed in to your account.`,
    },
  });
}

/** Closes the user's live in-app sockets: all of them, or all but the session that stays. */
export async function closeLiveSockets(env: Pick<CloudflareBindings, 'NOTIFICATION_HUB'>, userPublicId: string, filter: { only?: string; except?: string } = {}): Promise<void> {
  const hub = env.NOTIFICATION_HUB.get(env.NOTIFICATION_HUB.idFromName(userPublicId));
  await hub.disconnect(filter);
}
