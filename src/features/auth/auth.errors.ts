import { AppError, defineErrors } from '../../lib/errors';

/** Sign-in and account-identity codes (login, refresh, the second step, an email already in use). */
export const AUTH_ERRORS = defineErrors({
  INVALID_CREDENTIALS: 'Invalid email or password',
  INVALID_REFRESH_TOKEN: 'Invalid refresh token',
  MFA_REQUIRED: 'A two-factor code is required',
  INVALID_MFA_CODE: 'Invalid two-factor code',
  EMAIL_TAKEN: 'An account with this email already exists',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    auth: typeof AUTH_ERRORS;
  }
}

/** Registration, an email change (self, admin or confirmed link) onto an address another account holds. */
export const emailTaken = () => new AppError(409, 'EMAIL_TAKEN');
