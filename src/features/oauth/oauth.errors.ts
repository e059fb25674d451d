import { defineErrors } from '../../lib/errors';

/** Codes of the JSON management API (/api/v1/oauth). The protocol endpoints answer RFC 6749 errors instead (oauth.protocol.ts). */
export const OAUTH_ERRORS = defineErrors({
  OAUTH_CLIENT_PUBLIC: 'A public client has no secret to rotate',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    oauth: typeof OAUTH_ERRORS;
  }
}

/** RFC 6749 §5.2 / §4.1.2.1 / RFC 6750 §3.1 error codes. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope';

/** An OAuth protocol error; the routes render it as `{"error": code, "error_description": …}`. */
export class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401 | 403,
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}
