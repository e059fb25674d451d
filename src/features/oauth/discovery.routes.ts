import { getConfig } from '../../lib/config';
import { factory } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { PERMISSIONS } from '../../lib/permissions';
import { endpoint } from '../../middleware/endpoint';
import { DiscoveryResponse, OIDC_SCOPES } from './oauth.schemas';

/** RFC 8414 and OpenID Connect Discovery 1.0: the same document at both well-known names. */
function metadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: [...OIDC_SCOPES, ...PERMISSIONS],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['EdDSA'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'email', 'email_verified', 'name'],
    authorization_response_iss_parameter_supported: true,
  };
}

const spec = (path: string, summary: string) =>
  defineRoute({
    method: 'get',
    path,
    summary,
    tags: ['oauth'],
    access: PUBLIC,
    rateLimit: 'none',
    responses: { 200: { description: 'Authorization server metadata', schema: DiscoveryResponse } },
  });
const oidcRoute = spec('/openid-configuration', 'OpenID Connect discovery document');
const asRoute = spec('/oauth-authorization-server', 'OAuth 2.0 authorization server metadata (RFC 8414)');

export const oauthDiscoveryRoutes = factory
  .createApp()
  .get(oidcRoute.path, endpoint(oidcRoute), (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(metadata(getConfig(c.env).jwtIssuer));
  })
  .get(asRoute.path, endpoint(asRoute), (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(metadata(getConfig(c.env).jwtIssuer));
  });
