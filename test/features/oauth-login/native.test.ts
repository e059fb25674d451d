import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { freshIp, json, type TokenPair } from '../../helpers/api';
import { b64url } from '../../helpers/tokens';
import { errorCode, me } from '../../helpers/users';
import { registerUser } from '../../helpers/api';
import { markEmailVerified, mintIdToken, oauthCall, oidc, uniqueEmail, uniqueSub } from './oauth.helpers';

const idTokenCall = (idToken: string, nonce: string) => oauthCall('/api/v1/auth/oauth/test/id-token', { body: { idToken, nonce }, ip: freshIp() });
const newNonce = () => `nonce-${crypto.randomUUID()}`;
const sha256Hex = async (s: string) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))].map((b) => b.toString(16).padStart(2, '0')).join('');

async function refused(idToken: string, nonce: string) {
  const res = await idTokenCall(idToken, nonce);
  expect(res.status).toBe(401);
  expect(await errorCode(res)).toBe('OAUTH_INVALID_ID_TOKEN');
}

describe('native sign-in with a platform id_token', () => {
  it('signs in with an id_token for the app audience and its raw nonce, then refuses its replay', async () => {
    const nonce = newNonce();
    const email = uniqueEmail();
    const token = await mintIdToken({ sub: uniqueSub(), email, email_verified: true, nonce });
    const res = await idTokenCall(token, nonce);
    expect(res.status).toBe(200);
    const pair = await json<TokenPair>(res);
    expect(pair.user.email).toBe(email);
    expect((await me(pair.accessToken)).status).toBe(200);
    await refused(token, nonce);
  });

  it("accepts the SHA-256 of the nonce in the token (Apple's SDK)", async () => {
    const nonce = newNonce();
    const res = await idTokenCall(await mintIdToken({ sub: uniqueSub(), email: uniqueEmail(), email_verified: 'true', nonce: await sha256Hex(nonce) }), nonce);
    expect(res.status).toBe(200);
  });

  it('refuses a missing or different nonce', async () => {
    const nonce = newNonce();
    await refused(await mintIdToken({ sub: uniqueSub(), email: uniqueEmail(), nonce: newNonce() }), nonce);
    await refused(await mintIdToken({ sub: uniqueSub(), email: uniqueEmail() }), nonce);
  });

  it('refuses another audience, another issuer, an expired or too old token', async () => {
    const nonce = newNonce();
    const now = Math.floor(Date.now() / 1000);
    await refused(await mintIdToken({ sub: uniqueSub(), nonce, aud: 'someone-elses-app' }), nonce);
    await refused(await mintIdToken({ sub: uniqueSub(), nonce, iss: 'https://evil.test' }), nonce);
    await refused(await mintIdToken({ sub: uniqueSub(), nonce, exp: now - 60, iat: now - 400 }), nonce);
    await refused(await mintIdToken({ sub: uniqueSub(), nonce, iat: now - 3600, exp: now + 300 }), nonce);
  });

  it('refuses alg none, a foreign key under the provider kid, and a bit-flipped signature', async () => {
    const nonce = newNonce();
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: oidc.issuer, aud: 'ubr-ios-app', sub: uniqueSub(), nonce, iat: now, exp: now + 300 };
    await refused(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`, nonce);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: oidc.signingKey.kid }).sign(privateKey), nonce);
    // HS256 keyed with the provider's public key material (algorithm confusion).
    const pub = await exportJWK(privateKey);
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: oidc.signingKey.kid }).sign(new TextEncoder().encode(JSON.stringify(pub))), nonce);
    const good = await mintIdToken({ sub: uniqueSub(), nonce });
    const [h, p, s = ''] = good.split('.');
    await refused(`${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`, nonce);
  });

  it('answers link_required, not a session, for the verified email of an existing account', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const nonce = newNonce();
    const res = await idTokenCall(await mintIdToken({ sub: uniqueSub(), email: owner.email, email_verified: true, nonce }), nonce);
    expect(res.status).toBe(200);
    const body = await json<{ status: string; linkCode: string; accessToken?: string }>(res);
    expect(body.status).toBe('link_required');
    expect(body.accessToken).toBeUndefined();
  });

  it('refuses an unverified provider email that matches an account', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const nonce = newNonce();
    const res = await idTokenCall(await mintIdToken({ sub: uniqueSub(), email: owner.email, email_verified: false, nonce }), nonce);
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe('OAUTH_LINK_REFUSED');
  });
});
