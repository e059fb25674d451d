import * as z from 'zod/mini';
import { stringField } from '../../lib/validation';
import { PASSWORD_MAX_LENGTH } from '../../security/password';
import type { AuditActionList } from '../../lib/audit';
import { AssertionCredential } from '../passkeys/passkeys.schemas';

export const MFA_AUDIT = ['mfa.enable', 'mfa.disable', 'mfa.failure', 'mfa.recovery_code_used', 'mfa.recovery_codes_regenerated'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    mfa: (typeof MFA_AUDIT)[number];
  }
}

const CurrentPassword = z.string(stringField('Password')).check(z.minLength(1, 'Password is required'), z.maxLength(PASSWORD_MAX_LENGTH, 'Password is too long'));
/** A 6-digit TOTP code or a recovery code (xxxxx-xxxxx; any case, the hyphen or a space optional). */
export const SecondFactorCode = z.string(stringField('Code')).check(z.trim(), z.regex(/^(\d{6}|[a-z0-9]{5}\s*-?\s*[a-z0-9]{5})$/i, 'Invalid code format'));

export const SetupBody = z.strictObject({ password: CurrentPassword });
export const EnableBody = z.strictObject({ code: z.string().check(z.trim(), z.regex(/^\d{6}$/, 'Code must be 6 digits')) });
export const DisableBody = z.strictObject({ password: CurrentPassword, code: SecondFactorCode });

export const MfaStatus = z.object({ enabled: z.boolean(), recoveryCodesRemaining: z.number() });
export const SetupResponse = z.object({ secret: z.string(), otpauthUrl: z.string() });
export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()) });

/** Opaque token of the MFA_REQUIRED answer (32 random bytes, base64url). */
const MfaToken = z.string(stringField('MFA token')).check(z.minLength(1, 'MFA token is required'), z.maxLength(128, 'MFA token is too long'), z.regex(/^[A-Za-z0-9_-]+$/, 'MFA token must be base64url'));
export const PasskeyOptionsBody = z.strictObject({ mfaToken: MfaToken });
export const PasskeyVerifyBody = z.strictObject({ mfaToken: MfaToken, credential: AssertionCredential });

export const PasskeyOptionsResponse = z.object({
  /** PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get(). */
  options: z.object({
    challenge: z.string(),
    rpId: z.string(),
    timeout: z.number(),
    userVerification: z.literal('preferred'),
    allowCredentials: z.array(z.object({ id: z.string(), type: z.literal('public-key'), transports: z.optional(z.array(z.string())) })),
  }),
});
