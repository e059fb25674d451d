import { AppError, defineErrors } from '../../lib/errors';

/** One code per ceremony outcome; the precise reason goes to the audit log, never to the client. */
export const PASSKEYS_ERRORS = defineErrors({
  PASSKEY_REJECTED: 'The passkey response could not be verified',
  PASSKEY_EXISTS: 'This passkey is already registered',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    passkeys: typeof PASSKEYS_ERRORS;
  }
}

export const passkeyRejected = (status: 400 | 401) => new AppError(status, 'PASSKEY_REJECTED');
