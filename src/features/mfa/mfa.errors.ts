import { AppError, defineErrors } from '../../lib/errors';

export const MFA_ERRORS = defineErrors({
  MFA_CHALLENGE_INVALID: 'The two-factor challenge is spent, expired or unknown: sign in again',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    mfa: typeof MFA_ERRORS;
  }
}

export const mfaChallengeInvalid = () => new AppError(401, 'MFA_CHALLENGE_INVALID');
