import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { authorizationCode, exchangeCode, fetchDiscovery, pkcePair, ProviderRefusal, verifyIdToken, type ProviderMetadata } from '../../../src/features/oauth-login/oidc';
import { oidc } from './oauth.helpers';

const ISSUER = 'https://id.example.com';
const keys = await generateKeyPair('ES256', { extractable: true });
const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] });

async function sign(claims: JWTPayload, opts: { key?: CryptoKey | Uint8Array; alg?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: 'web-client', sub: 'u1', iat: now, exp: now + 300, nonce: 'n1', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: 'k1' })
    .sign(opts.key ?? keys.privateKey);
}

const want = { issuer: ISSUER, audiences: ['web-client'], nonces: ['n1'] };

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderRefusal);
  return (err as ProviderRefusal).error;
}

describe('id_token validation (OIDC Core 3.1.3.7)', () => {
  it('accepts a token signed by the provider for our client with the flow nonce', async () => {
    expect((await verifyIdToken(await sign({}), jwks, want)).sub).toBe('u1');
  });

  it('refuses another issuer, another audience, an expired token and a missing sub', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(verifyIdToken(await sign({ iss: 'https://evil.example.com' }), jwks, want))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await refusal(verifyIdToken(await sign({ aud: 'other-client' }), jwks, want))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await refusal(verifyIdToken(await sign({ iat: now - 900, exp: now - 600 }), jwks, want))).toBe('ERR_JWT_EXPIRED');
    expect(await refusal(verifyIdToken(await sign({ sub: undefined }), jwks, want))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses a nonce of another flow, and a token without one', async () => {
    expect(await refusal(verifyIdToken(await sign({ nonce: 'n2' }), jwks, want))).toBe('nonce mismatch');
    expect(await refusal(verifyIdToken(await sign({ nonce: undefined }), jwks, want))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses a signature by another key, and HS256 keyed by a shared secret', async () => {
    const other = await generateKeyPair('ES256');
    expect(await refusal(verifyIdToken(await sign({}, { key: other.privateKey }), jwks, want))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const hs = await sign({}, { key: new TextEncoder().encode('client-secret-0123456789abcdef01'), alg: 'HS256' });
    expect(await refusal(verifyIdToken(hs, jwks, want))).toMatch(/^ERR_/);
  });

  it('with several audiences, requires azp to be one of ours', async () => {
    expect(await refusal(verifyIdToken(await sign({ aud: ['web-client', 'someone-else'] }), jwks, want))).toBe('azp');
    expect(await refusal(verifyIdToken(await sign({ aud: ['web-client', 'someone-else'], azp: 'someone-else' }), jwks, want))).toBe('azp');
    expect((await verifyIdToken(await sign({ aud: ['web-client', 'someone-else'], azp: 'web-client' }), jwks, want)).sub).toBe('u1');
  });
});

describe('authorization response (RFC 6749 §4.1.2, RFC 9207)', () => {
  const as: ProviderMetadata = { issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`, authorization_response_iss_parameter_supported: true };

  it('returns the code when iss is the issuer', () => {
    expect(authorizationCode(as, new URLSearchParams({ code: 'c1', iss: ISSUER }))).toBe('c1');
  });

  it('refuses another iss (mix-up), a missing iss the provider advertises, and maps the provider error', () => {
    expect(() => authorizationCode(as, new URLSearchParams({ code: 'c1', iss: 'https://evil.example.com' }))).toThrow('iss mismatch');
    expect(() => authorizationCode(as, new URLSearchParams({ code: 'c1' }))).toThrow('iss mismatch');
    expect(() => authorizationCode({ ...as, authorization_response_iss_parameter_supported: false }, new URLSearchParams({ error: 'access_denied' }))).toThrow('access_denied');
    expect(() => authorizationCode({ ...as, authorization_response_iss_parameter_supported: false }, new URLSearchParams({}))).toThrow('no code');
  });
});

describe('against the local OpenID provider', () => {
  it('discovers it, and refuses a discovery document whose issuer is not the configured one', async () => {
    const as = await fetchDiscovery(new URL(oidc.issuer));
    expect(as.issuer).toBe(oidc.issuer);
    expect(as.jwks_uri).toBeTruthy();
    const alias = new URL(oidc.issuer);
    alias.hostname = 'localhost';
    expect(await refusal(fetchDiscovery(alias))).toBe('discovery issuer mismatch');
  });

  it('maps a token endpoint error to its OAuth code (invalid_grant for an unknown code)', async () => {
    const as = await fetchDiscovery(new URL(oidc.issuer));
    const { verifier } = await pkcePair();
    const client = { clientId: oidc.clientId, clientSecret: oidc.clientSecret };
    expect(await refusal(exchangeCode(as, client, 'not-a-code', 'http://127.0.0.1:8787/api/v1/auth/oauth/test/callback', verifier))).toBe('invalid_grant');
    expect(await refusal(exchangeCode(as, { ...client, clientSecret: 'wrong-secret' }, 'not-a-code', 'http://127.0.0.1:8787/api/v1/auth/oauth/test/callback', verifier))).toBe('invalid_client');
  });

  it('makes a 43-character PKCE verifier and its S256 challenge (RFC 7636 appendix B)', async () => {
    const { verifier, challenge } = await pkcePair();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    expect(challenge).toBe(btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  });
});
