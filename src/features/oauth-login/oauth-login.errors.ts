import { AppError, defineErrors } from '../../lib/errors';

/** Social sign-in codes. The internal reason of a refusal goes to logs (`reason`), never on the wire. */
export const OAUTH_LOGIN_ERRORS = defineErrors({
  OAUTH_UNKNOWN_PROVIDER: 'Unknown sign-in provider',
  OAUTH_REDIRECT_NOT_ALLOWED: 'redirectTo is not an allowed address',
  OAUTH_INVALID_STATE: 'The sign-in request is invalid, expired or was already used',
  OAUTH_INVALID_CODE: 'The code is invalid, expired or was already used',
  OAUTH_INVALID_ID_TOKEN: 'The identity token is invalid',
  OAUTH_PROVIDER_ERROR: 'The sign-in provider did not complete the sign-in',
  OAUTH_LINK_REFUSED: 'This identity cannot be linked to this account',
  OAUTH_LAST_SIGN_IN_METHOD: 'This is the only way to sign in to the account: set a password first',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    oauthLogin: typeof OAUTH_LOGIN_ERRORS;
  }
}

export const redirectNotAllowed = () => new AppError(400, 'OAUTH_REDIRECT_NOT_ALLOWED');
export const invalidState = (reason: string) => new AppError(400, 'OAUTH_INVALID_STATE', { reason });
export const invalidCode = () => new AppError(400, 'OAUTH_INVALID_CODE');
export const invalidIdToken = (reason: string) => new AppError(401, 'OAUTH_INVALID_ID_TOKEN', { reason });
export const providerError = (reason: string) => new AppError(502, 'OAUTH_PROVIDER_ERROR', { reason });
export const linkRefused = (reason: string) => new AppError(409, 'OAUTH_LINK_REFUSED', { reason });
export const lastSignInMethod = () => new AppError(422, 'OAUTH_LAST_SIGN_IN_METHOD');
