import { decodeProtectedHeader, exportPKCS8, generateKeyPair, importPKCS8, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { APPLE_MAX_SECRET_LIFETIME_S, appleClientSecret, appleUserName } from '../../../src/features/oauth-login/apple';
import { apple } from './apple.helpers';

async function teamKey() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { publicKey, pem: await exportPKCS8(privateKey) };
}

describe('Apple client secret (ES256 JWT signed with the team key)', () => {
  it('carries kid, iss = team, sub = client id, aud = https://appleid.apple.com and lives at most 6 months', async () => {
    const { publicKey, pem } = await teamKey();
    const jwt = await appleClientSecret({ teamId: 'TEAM000001', keyId: 'KEY0000001', privateKey: pem }, 'com.example.web');
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: 'KEY0000001' });
    const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: 'TEAM000001', subject: 'com.example.web', audience: 'https://appleid.apple.com' });
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(APPLE_MAX_SECRET_LIFETIME_S);
  });

  it('is cached per isolate until an hour before it expires, then signed again', async () => {
    const { pem } = await teamKey();
    const key = { teamId: 'TEAM000002', keyId: 'KEY0000002', privateKey: pem };
    const now = Date.now();
    const first = await appleClientSecret(key, 'com.example.web', now);
    expect(await appleClientSecret(key, 'com.example.web', now + 60_000)).toBe(first);
    expect(await appleClientSecret(key, 'com.example.other', now)).not.toBe(first);
    const late = await appleClientSecret(key, 'com.example.web', now + 23.5 * 3600_000);
    expect(late).not.toBe(first);
  });

  it('never reuses a secret signed by a replaced key under the same team and key id', async () => {
    const a = await teamKey();
    const b = await teamKey();
    const first = await appleClientSecret({ teamId: 'TEAM000003', keyId: 'KEY0000003', privateKey: a.pem }, 'com.example.web');
    const second = await appleClientSecret({ teamId: 'TEAM000003', keyId: 'KEY0000003', privateKey: b.pem }, 'com.example.web');
    expect(second).not.toBe(first);
    await expect(jwtVerify(second, b.publicKey)).resolves.toBeTruthy();
  });

  it('refuses to sign with a key that is not PKCS #8 (fails closed)', async () => {
    await expect(appleClientSecret({ teamId: 'T', keyId: 'K', privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, 'c')).rejects.toThrow();
  });
});

describe('the Apple stand-in refuses what Apple refuses (so a sign-in through it proves our claims)', () => {
  async function tokenRequest(claims: { iss?: string; sub?: string; aud?: string; lifetime?: number; kid?: string }) {
    const key = await importPKCS8(apple.privateKey, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const secret = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: claims.kid ?? apple.keyId })
      .setIssuer(claims.iss ?? apple.teamId)
      .setSubject(claims.sub ?? apple.clientId)
      .setAudience(claims.aud ?? 'https://appleid.apple.com')
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.lifetime ?? 600))
      .sign(key);
    const body = new URLSearchParams({ client_id: apple.clientId, client_secret: secret, grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: 'http://127.0.0.1:8787/cb' });
    const res = await fetch(`${apple.origin}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    return (await res.json()) as { error: string };
  }

  it('answers invalid_client for a wrong aud, iss, sub, kid or a lifetime over 6 months; a valid secret reaches the code check', async () => {
    expect(await tokenRequest({ aud: apple.origin })).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRequest({ iss: 'OTHERTEAM1' })).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRequest({ sub: 'com.example.other' })).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRequest({ kid: 'OTHERKEY00' })).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRequest({ lifetime: APPLE_MAX_SECRET_LIFETIME_S + 60 })).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRequest({})).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('the name in Apple’s `user` field', () => {
  it('joins first and last name, and ignores what is absent, malformed or oversized', () => {
    expect(appleUserName(JSON.stringify({ name: { firstName: 'Ada', lastName: 'Lovelace' }, email: 'x@example.com' }))).toBe('Ada Lovelace');
    expect(appleUserName(JSON.stringify({ name: { lastName: ' Hopper ' } }))).toBe('Hopper');
    expect(appleUserName(JSON.stringify({ name: { firstName: 'A\u0000da' } }))).toBe('Ada');
    expect(appleUserName(undefined)).toBeNull();
    expect(appleUserName('{"name":')).toBeNull();
    expect(appleUserName(JSON.stringify({ name: 'Ada' }))).toBeNull();
    expect(appleUserName(JSON.stringify({ name: { firstName: 'x'.repeat(101) } }))).toBeNull();
    expect(appleUserName(JSON.stringify({}))).toBeNull();
  });
});
