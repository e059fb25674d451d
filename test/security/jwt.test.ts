import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_TTL_SECONDS, getKeyRing, InvalidTokenError, signAccessToken, verifyAccessToken, type KeyRing } from '../../src/security/jwt';
import { b64url, decodeToken, ed25519Signer, flipSignatureBit, forgeToken, fromB64url, generateSigningJwk, hs256Signer, without } from '../helpers/tokens';

const OPTS = { issuer: 'https://issuer.test', audience: 'app-ubr-test' };
const SUB = '01900000-0000-7000-8000-000000000001';
const SID = '01900000-0000-7000-8000-000000000002';

let current: JWK;
let previous: JWK;
let ring: KeyRing;

const now = () => Math.floor(Date.now() / 1000);
const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'EdDSA', typ: 'at+jwt', kid: current.kid, ...overrides });
const claims = (overrides: Record<string, unknown> = {}) => ({
  sid: SID,
  iss: OPTS.issuer,
  aud: OPTS.audience,
  sub: SUB,
  jti: crypto.randomUUID(),
  iat: now(),
  nbf: now(),
  exp: now() + 900,
  ...overrides,
});

async function refused(token: string, r: KeyRing = ring, opts = OPTS): Promise<string> {
  const err = await verifyAccessToken(r, opts, token).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `token was accepted: ${token}`).toBeInstanceOf(InvalidTokenError);
  return (err as Error).message;
}

beforeAll(async () => {
  current = await generateSigningJwk('key-2026-11');
  previous = await generateSigningJwk('key-2026-10');
  ring = await getKeyRing(JSON.stringify([current, previous]));
});

describe('getKeyRing', () => {
  it('signs with the first key and verifies with every key of a rotation', async () => {
    expect(ring.signing.kid).toBe('key-2026-11');
    expect([...ring.verify.keys()]).toEqual(['key-2026-11', 'key-2026-10']);
    const fresh = await signAccessToken(ring, OPTS, SUB, SID);
    expect(decodeToken(fresh).header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'key-2026-11' });
    const old = await forgeToken(header({ kid: previous.kid }), claims(), ed25519Signer(previous));
    await expect(verifyAccessToken(ring, OPTS, fresh)).resolves.toMatchObject({ sub: SUB, sid: SID });
    await expect(verifyAccessToken(ring, OPTS, old)).resolves.toMatchObject({ sub: SUB, sid: SID });
  });

  it('publishes public keys only, one per kid', () => {
    expect(ring.publicJwks).toHaveLength(2);
    for (const [i, jwk] of ring.publicJwks.entries()) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: [current, previous][i]!.kid, x: [current, previous][i]!.x });
    }
  });

  it('refuses a token of a key dropped from the ring after the rotation', async () => {
    const old = await forgeToken(header({ kid: previous.kid }), claims(), ed25519Signer(previous));
    const after = await getKeyRing(JSON.stringify([current]));
    expect(await refused(old, after)).toBe('unknown kid');
  });

  it('accepts a single JWK object as well as an array', async () => {
    const single = await getKeyRing(JSON.stringify(current));
    expect(single.signing.kid).toBe(current.kid);
  });

  it.each([
    ['missing', undefined],
    ['not JSON', '{nope'],
    ['empty', '[]'],
    ['without kid', JSON.stringify([{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', d: 'AAAA' }])],
    ['public only', JSON.stringify([{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'k' }])],
    ['an RSA key', JSON.stringify([{ kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB', kid: 'k' }])],
    ['an HMAC secret', JSON.stringify([{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }])],
  ])('refuses a JWT_SIGNING_KEYS that is %s', async (_name, secret) => {
    await expect(getKeyRing(secret)).rejects.toThrow(/JWT_SIGNING_KEYS/);
  });

  it('refuses two keys with the same kid (verification would use the wrong one)', async () => {
    const twin = await generateSigningJwk(current.kid!);
    await expect(getKeyRing(JSON.stringify([current, twin]))).rejects.toThrow(/duplicate kid/);
  });
});

describe('verifyAccessToken', () => {
  it('returns the claims of a token it signed', async () => {
    const token = await signAccessToken(ring, OPTS, SUB, SID);
    const c = await verifyAccessToken(ring, OPTS, token);
    expect(c).toMatchObject({ sub: SUB, sid: SID, iss: OPTS.issuer, aud: OPTS.audience });
    expect(c.exp - c.iat).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect(typeof c.jti).toBe('string');
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s, unsigned or with a signature', async (alg) => {
    await refused(await forgeToken(header({ alg }), claims()));
    await refused(await forgeToken(header({ alg }), claims(), ed25519Signer(current)));
    await refused(await forgeToken({ alg, typ: 'at+jwt' }, claims()));
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const raw = fromB64url(current.x!);
    const jwksText = new TextEncoder().encode(JSON.stringify(ring.publicJwks[0]));
    await refused(await forgeToken(header({ alg: 'HS256' }), claims(), hs256Signer(raw)));
    await refused(await forgeToken(header({ alg: 'HS256' }), claims(), hs256Signer(jwksText)));
    await refused(await forgeToken(header({ alg: 'HS256' }), claims(), hs256Signer(new TextEncoder().encode(current.x!))));
  });

  it.each(['ES256', 'RS256', 'Ed25519', 'eddsa', ''])('refuses any other alg (%s) even with a valid EdDSA signature', async (alg) => {
    await refused(await forgeToken(header({ alg }), claims(), ed25519Signer(current)));
  });

  it('refuses a tampered payload', async () => {
    const token = await signAccessToken(ring, OPTS, SUB, SID);
    const [h, , s] = token.split('.');
    const payload = { ...decodeToken(token).payload, sub: '01900000-0000-7000-8000-0000000000ff' };
    await refused(`${h}.${b64url(JSON.stringify(payload))}.${s}`);
    const longer = { ...decodeToken(token).payload, exp: now() + 86_400 * 365 };
    await refused(`${h}.${b64url(JSON.stringify(longer))}.${s}`);
  });

  it('refuses a tampered header (kid swapped to the other key)', async () => {
    const token = await signAccessToken(ring, OPTS, SUB, SID);
    const [, p, s] = token.split('.');
    await refused(`${b64url(JSON.stringify(header({ kid: previous.kid })))}.${p}.${s}`);
  });

  it.each([0, 7, 100, 511])('refuses a signature with bit %i flipped', async (bit) => {
    const token = await signAccessToken(ring, OPTS, SUB, SID);
    await refused(flipSignatureBit(token, bit));
  });

  it("refuses an attacker's own Ed25519 key presented under our kid", async () => {
    const attacker = await generateSigningJwk(current.kid!);
    await refused(await forgeToken(header(), claims(), ed25519Signer(attacker)));
  });

  it.each([
    ['unknown', 'key-1999-01'],
    ['path traversal', '../../etc/passwd'],
    ['SQL', "' OR '1'='1' --"],
    ['prototype key', '__proto__'],
    ['empty', ''],
    ['number', 1],
    ['null', null],
  ])('refuses a %s kid', async (_name, kid) => {
    expect(await refused(await forgeToken(header({ kid }), claims(), ed25519Signer(current)))).toBe('unknown kid');
  });

  it('refuses a token without kid', async () => {
    await refused(await forgeToken(without(header(), 'kid'), claims(), ed25519Signer(current)));
  });

  it.each(['jku', 'x5u', 'x5c', 'x5t', 'jwk', 'cty', 'crit'])('refuses a %s header even when the signature is ours', async (name) => {
    const value =
      name === 'jwk' ? { kty: 'OKP', crv: 'Ed25519', x: current.x } : name === 'x5c' ? ['MIIB'] : name === 'crit' ? ['exp'] : 'https://attacker.example/keys';
    await refused(await forgeToken(header({ [name]: value }), claims(), ed25519Signer(current)));
  });

  it('refuses an embedded jwk of an attacker key, signed by that key', async () => {
    const attacker = await generateSigningJwk('attacker');
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: attacker.x };
    await refused(await forgeToken({ alg: 'EdDSA', typ: 'at+jwt', jwk }, claims(), ed25519Signer(attacker)));
  });

  it('refuses an expired token (beyond the 5 s clock tolerance) but not one inside it', async () => {
    await refused(await forgeToken(header(), claims({ iat: now() - 1000, nbf: now() - 1000, exp: now() - 60 }), ed25519Signer(current)));
    await expect(verifyAccessToken(ring, OPTS, await forgeToken(header(), claims({ exp: now() - 2 }), ed25519Signer(current)))).resolves.toBeTruthy();
  });

  it('refuses a token that claims a longer life than an access token has, or an iat in the future', async () => {
    await refused(await forgeToken(header(), claims({ exp: now() + 86_400 * 365 }), ed25519Signer(current)));
    await refused(await forgeToken(header(), claims({ iat: now() - 16 * 60, nbf: now() - 16 * 60, exp: now() + 3600 }), ed25519Signer(current)));
    await refused(await forgeToken(header(), claims({ iat: now() + 120 }), ed25519Signer(current)));
  });

  it('refuses a token whose nbf is in the future', async () => {
    await refused(await forgeToken(header(), claims({ nbf: now() + 120 }), ed25519Signer(current)));
  });

  it.each([
    ['iss', 'https://evil.example'],
    ['iss', OPTS.issuer.toUpperCase()],
    ['aud', 'another-api'],
    ['aud', ['another-api']],
  ])('refuses a wrong %s (%j)', async (claim, value) => {
    await refused(await forgeToken(header(), claims({ [claim]: value }), ed25519Signer(current)));
  });

  it.each(['JWT', 'jwt', 'at+JWT2', 'application/jose'])('refuses typ %s', async (typ) => {
    await refused(await forgeToken(header({ typ }), claims(), ed25519Signer(current)));
  });

  it('refuses a token without typ', async () => {
    await refused(await forgeToken(without(header(), 'typ'), claims(), ed25519Signer(current)));
  });

  it.each(['sid', 'jti', 'sub', 'exp', 'nbf', 'iat', 'iss', 'aud'])('refuses a token without %s', async (claim) => {
    await refused(await forgeToken(header(), without(claims(), claim), ed25519Signer(current)));
  });

  it.each([
    ['sid', 42],
    ['sid', null],
    ['jti', 7],
    ['sub', { id: 1 }],
    ['exp', '9999999999'],
  ])('refuses a token whose %s is not of the right type (%j)', async (claim, value) => {
    await refused(await forgeToken(header(), claims({ [claim]: value }), ed25519Signer(current)));
  });

  it.each(['', 'abc', 'a.b', 'a.b.c', 'a.b.c.d.e', '..', '.....'])('refuses garbage %j', async (token) => {
    await refused(token);
  });

  it('refuses a JWE-shaped (five part) token and a payload that is not JSON', async () => {
    const sig = await ed25519Signer(current)(new TextEncoder().encode('x'));
    await refused(`${b64url(JSON.stringify(header()))}.${b64url('not json')}.${b64url(sig)}`);
    await refused(`${b64url(JSON.stringify({ alg: 'dir', enc: 'A256GCM' }))}....`);
  });
});
