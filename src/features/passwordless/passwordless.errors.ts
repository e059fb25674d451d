import { AppError, defineErrors } from '../../lib/errors';

export const PASSWORDLESS_ERRORS = defineErrors({
  INVALID_SIGN_IN_CODE: 'Invalid or expired code or link',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    passwordless: typeof PASSWORDLESS_ERRORS;
  }
}

/** Wrong, used, expired, another flow's, or the flow is out of attempts: one answer for all. */
export const invalidSignInCode = () => new AppError(401, 'INVALID_SIGN_IN_CODE');
