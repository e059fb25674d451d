import * as z from 'zod/mini';
import { stringField } from '../../lib/validation';
import { isCommonPassword } from '../../security/common-passwords';
import { DEVICE_TOKEN_MAX_LENGTH } from '../../security/device-token';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../security/password';
import { SecondFactorCode } from '../mfa/mfa.schemas';
import { UserResponse } from '../users/users.schemas';
import type { AuditActionList } from '../../lib/audit';

export const AUTH_AUDIT = ['auth.register', 'auth.login', 'auth.logout', 'auth.refresh_reuse', 'auth.refresh_retry', 'auth.password_change', 'auth.session_revoke', 'auth.password_reset_request', 'auth.password_reset', 'auth.email_verify', 'auth.email_change_request', 'auth.email_change', 'auth.console_session'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    auth: (typeof AUTH_AUDIT)[number];
  }
}

export const Email = z.pipe(
  z.string(stringField('Email')).check(z.maxLength(254, 'Email is too long')),
  z.pipe(
    z.transform((s: string) => s.trim().toLowerCase()),
    z.email({ error: 'Invalid email' }),
  ),
);

/** Verified exactly as received: no trimming or normalisation of passwords. */
export const Password = z.string(stringField('Password')).check(
  z.minLength(PASSWORD_MIN_LENGTH, `Password must be at least ${PASSWORD_MIN_LENGTH} characters`),
  z.maxLength(PASSWORD_MAX_LENGTH, `Password must be at most ${PASSWORD_MAX_LENGTH} characters`),
);

/**
 * A password being set (register, change): the length rules plus the common-password list, in
 * the schema so a common password is reported together with every other field error. Async (the
 * set is a static asset read once per isolate): parse with `safeParseAsync`, as `endpoint()` does.
 */
export const NewPassword = Password.check(z.refine(async (p: string) => !(await isCommonPassword(p)), 'Password is too common'));

export const FullName = z.string().check(z.trim(), z.minLength(1, 'Full name must not be empty'), z.maxLength(100, 'Full name is too long'));

export const RegisterBody = z.strictObject({
  email: Email,
  password: NewPassword,
  fullName: z.optional(FullName),
});

/** Opaque to clients; an invalid one only makes the request untrusted (never a 400 of its own). */
export const DeviceToken = z.string(stringField('Device token')).check(z.maxLength(DEVICE_TOKEN_MAX_LENGTH, 'Device token is too long'));

export const LoginBody = z.strictObject({
  email: Email,
  // Login accepts any length up to the max, so a policy change never locks old accounts out.
  password: z.string(stringField('Password')).check(z.minLength(1, 'Password is required'), z.maxLength(PASSWORD_MAX_LENGTH, 'Password is too long')),
  /** Required when two-factor is enabled: a 6-digit TOTP code or a recovery code. */
  mfaCode: z.optional(SecondFactorCode),
  /** The device token a previous sign-in on this client returned: its attempts use the device's own budget. */
  deviceToken: z.optional(DeviceToken),
});

export const RefreshBody = z.strictObject({
  refreshToken: z.string(stringField('Refresh token')).check(z.minLength(1, 'Refresh token is required'), z.maxLength(256, 'Not a refresh token')),
  /** The device token of the session's device: makes a retry within the reuse window idempotent. */
  deviceToken: z.optional(DeviceToken),
});

export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().check(z.minLength(1), z.maxLength(PASSWORD_MAX_LENGTH)),
  newPassword: NewPassword,
});

export const TokenPairResponse = z.object({
  user: UserResponse,
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number(),
  /** Login and registration: store it on the device (Keychain/Keystore, or an HttpOnly cookie set by your web backend) and send it with later logins and refreshes. */
  deviceToken: z.optional(z.string()),
});

export const SessionResponse = z.object({
  id: z.string(),
  current: z.boolean(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.nullable(z.string()),
});
export const SessionListResponse = z.object({ data: z.array(SessionResponse) });

/** The admin console's handover: the refresh token its sign-in just returned (rotated at once into the cookie). */
export const ConsoleHandoverBody = z.strictObject({
  refreshToken: z.string(stringField('Refresh token')).check(z.minLength(1, 'Refresh token is required'), z.maxLength(256, 'Not a refresh token')),
});

/** A token pair without the refresh token (it is in the console's HttpOnly cookie) and without a device token. */
export const ConsoleTokenResponse = z.object({
  user: UserResponse,
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number(),
});
