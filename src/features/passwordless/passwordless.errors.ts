import { defineErrors } from '../../lib/errors';

export const PASSWORDLESS_ERRORS = defineErrors({
  INVALID_SIGN_IN_CODE: 'Invalid or expired code or link',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    passwordless: typeof PASSWORDLESS_ERRORS;
  }
}
