import { exports } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { decodeJwt, jwtVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { BASE, freshIp, registerUser } from '../../helpers/api';
import { registerAdmin } from '../../helpers/users';
import { consent, createClient, REDIRECT } from './oauth-helpers';

/**
 * A real OAuth/OIDC client library (oauth4webapi, by the author of jose and openid-client) as the
 * third-party app, over the Worker's fetch: discovery, the code flow with PKCE S256, the id_token
 * checks, refresh, userinfo, introspection and revocation, for a confidential and a public client.
 */
const issuer = new URL(BASE);
const viaWorker: typeof fetch = (input, init) => {
  const req = new Request(input, init);
  const headers = new Headers(req.headers);
  headers.set('CF-Connecting-IP', freshIp());
  return exports.default.fetch(new Request(req, { headers }));
};
const options = { [oauth.customFetch]: viaWorker, [oauth.allowInsecureRequests]: true };

async function discover(): Promise<oauth.AuthorizationServer> {
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' }));
}

describe('OAuth provider driven by oauth4webapi', () => {
  it('serves the same metadata at both well-known names', async () => {
    const as = await discover();
    const rfc8414 = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }));
    expect(rfc8414).toEqual(as);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.response_types_supported).toEqual(['code']);
  });

  for (const type of ['confidential', 'public'] as const) {
    it(`runs the full code flow for a ${type} client: tokens, id_token, userinfo, refresh, introspect, revoke`, async () => {
      const as = await discover();
      const admin = await registerAdmin();
      const registered = await createClient(admin.accessToken, { type });
      const resourceServer = await createClient(admin.accessToken);
      const client: oauth.Client = { client_id: registered.id, id_token_signed_response_alg: 'EdDSA' };
      const auth = type === 'public' ? oauth.None() : oauth.ClientSecretBasic(registered.clientSecret!);
      const user = await registerUser({ fullName: 'Ada Lovelace' });

      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const url = new URL(as.authorization_endpoint!);
      for (const [k, v] of Object.entries({
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid email profile offline_access',
        state,
        nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      })) {
        url.searchParams.set(k, v);
      }
      const callback = await consent(url.pathname + url.search, user);
      // Checks state and the RFC 9207 `iss` parameter.
      const params = oauth.validateAuthResponse(as, client, callback, state);

      const tokens = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, options), {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      expect(tokens.token_type).toBe('bearer');
      const claims = oauth.getValidatedIdTokenClaims(tokens)!;
      expect(claims).toMatchObject({ iss: BASE, aud: registered.id, sub: user.user.id, nonce, email: user.email, name: 'Ada Lovelace' });

      // The id_token verifies with the published JWKS (same keys as the access JWTs).
      const jwks = (await (await viaWorker(`${BASE}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks), { issuer: BASE, audience: registered.id, algorithms: ['EdDSA'] });
      expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: registered.id, scope: 'openid email profile offline_access' });

      const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, options));
      expect(info).toMatchObject({ sub: user.user.id, email: user.email, email_verified: false, name: 'Ada Lovelace' });

      const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, options));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

      const rs: oauth.Client = { client_id: resourceServer.id };
      const rsAuth = oauth.ClientSecretPost(resourceServer.clientSecret!);
      const active = await oauth.processIntrospectionResponse(as, rs, await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, options));
      expect(active).toMatchObject({ active: true, client_id: registered.id, sub: user.user.id, token_type: 'Bearer' });

      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, refreshed.refresh_token!, options));
      const after = await oauth.processIntrospectionResponse(as, rs, await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, options));
      expect(after.active).toBe(false);
      await expect(oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token!, options))).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });
  }
});
