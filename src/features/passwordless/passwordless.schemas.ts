import * as z from 'zod/mini';
import type { AuditActionList } from '../../lib/audit';
import { stringField } from '../../lib/validation';
import { Email } from '../auth/auth.schemas';
import { SecondFactorCode } from '../mfa/mfa.schemas';

export const PASSWORDLESS_AUDIT = ['auth.passwordless_request', 'auth.passwordless_login'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    passwordless: (typeof PASSWORDLESS_AUDIT)[number];
  }
}

const Opaque = (label: string) => z.string(stringField(label)).check(z.regex(/^[A-Za-z0-9_-]{43}$/, `Invalid ${label.toLowerCase()}`));

export const StartBody = z.strictObject({ email: Email });
export const StartResponse = z.object({
  /** Keep it on the device that asked (memory or sessionStorage): only that request can finish the sign-in. */
  flowId: z.string(),
  expiresIn: z.number(),
  message: z.string(),
});
export const OtpVerifyBody = z.strictObject({
  flowId: Opaque('Flow id'),
  code: z.string(stringField('Code')).check(z.regex(/^\d{6}$/, 'The code has 6 digits')),
  /** Required when two-factor is on: a TOTP code or a recovery code, as at password login. */
  mfaCode: z.optional(SecondFactorCode),
});
export const LinkVerifyBody = z.strictObject({ flowId: Opaque('Flow id'), token: Opaque('Token'), mfaCode: z.optional(SecondFactorCode) });
