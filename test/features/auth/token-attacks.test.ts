// Access-token attacks through HTTP, against GET /users/me (the authenticated hot path).
// Every forged token starts from a real one's claims so exactly one thing is wrong at a time,
// and a control case proves the forging itself yields an accepted token.
import { exports } from 'cloudflare:workers';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE, call, freshIp, json, registerUser } from '../../helpers/api';
import { b64url, decodeToken, ed25519Signer, flipSignatureBit, forgeToken, fromB64url, generateSigningJwk, hs256Signer, validClaims, validHeader, without } from '../../helpers/tokens';
import { forgetCaller } from '../../helpers/users';

type Registered = Awaited<ReturnType<typeof registerUser>>;
let user: Registered;
let base: { sub: string; sid: string };
const now = () => Math.floor(Date.now() / 1000);

// A fresh client IP per request: every refused token counts on its IP's auth-failure budget
// (middleware/auth-failures.ts), and this file sends far more than one IP may in a minute.
const meWith = (authorization?: string) =>
  exports.default.fetch(new Request(`${BASE}/api/v1/users/me`, { headers: { 'CF-Connecting-IP': freshIp(), ...(authorization === undefined ? {} : { Authorization: authorization }) } }));

async function expectInvalidToken(res: Response) {
  expect(res.status).toBe(401);
  const body = await json<{ error: { code: string; message: string; requestId: string } }>(res);
  expect(body.error.code).toBe('INVALID_TOKEN');
  expect(body.error.requestId).toBe(res.headers.get('X-Request-Id'));
  expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
}

beforeAll(async () => {
  user = await registerUser({ fullName: 'Target User' });
  const { payload } = decodeToken(user.accessToken);
  base = { sub: payload.sub as string, sid: payload.sid as string };
});

describe('GET /users/me', () => {
  it("answers the caller's public user fields", async () => {
    const res = await call('/api/v1/users/me', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = await json<Record<string, unknown>>(res);
    expect(body).toEqual({
      id: user.user.id,
      email: user.email,
      fullName: 'Target User',
      emailVerified: false,
      roles: ['user'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('accepts a token forged with the real key and real claims (control for every case below)', async () => {
    expect((await meWith(`Bearer ${await forgeToken(validHeader(), validClaims(base), ed25519Signer())}`)).status).toBe(200);
  });

  it('requires an Authorization header', async () => {
    const res = await meWith();
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('UNAUTHENTICATED');
  });

  it.each(['Bearer', 'bearer', 'BEARER', 'BeArEr'])('accepts the scheme spelled %s (RFC 6750: case-insensitive)', async (scheme) => {
    expect((await meWith(`${scheme} ${user.accessToken}`)).status).toBe(200);
  });

  it.each([
    ['Basic', () => `Basic ${btoa(`${user.email}:${user.password}`)}`],
    ['Token', () => `Token ${user.accessToken}`],
    ['Bearer without token', () => 'Bearer'],
    ['Bearer with an empty token', () => 'Bearer '],
    ['no scheme', () => user.accessToken],
    ['Bearer, no space', () => `Bearer${user.accessToken}`],
    ['Bearer with a tab', () => `Bearer\t${user.accessToken}`],
    ['two tokens', () => `Bearer ${user.accessToken} ${user.accessToken}`],
    ['two credentials', () => `Bearer ${user.accessToken}, Basic abc`],
    ['trailing junk', () => `Bearer ${user.accessToken}.x`],
    ['the refresh token', () => `Bearer ${user.refreshToken}`],
    ['DPoP', () => `DPoP ${user.accessToken}`],
  ])('refuses %s', async (_name, header) => {
    await expectInvalidToken(await meWith(header()));
  });

  it('ignores a token in the query string or a cookie', async () => {
    const res = await exports.default.fetch(
      new Request(`${BASE}/api/v1/users/me?access_token=${user.accessToken}`, { headers: { Cookie: `access_token=${user.accessToken}` } }),
    );
    expect(res.status).toBe(401);
  });
});

describe('forged access tokens', () => {
  const bearer = async (header: Record<string, unknown>, claims: Record<string, unknown>, sign = true) =>
    meWith(`Bearer ${await forgeToken(header, claims, sign ? ed25519Signer() : undefined)}`);

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s with any signature', async (alg) => {
    // An empty signature does not even parse as a Bearer JWT; a junk one must fail verification.
    await expectInvalidToken(await bearer(validHeader({ alg }), validClaims(base), false));
    const unsigned = await forgeToken(validHeader({ alg }), validClaims(base));
    await expectInvalidToken(await meWith(`Bearer ${unsigned}${b64url('sig')}`));
    await expectInvalidToken(await bearer(validHeader({ alg }), validClaims(base)));
  });

  it('refuses HS256 signed with the published public key', async () => {
    const jwks = await json<{ keys: { x: string }[] }>(await exports.default.fetch(`${BASE}/.well-known/jwks.json`));
    for (const secret of [fromB64url(jwks.keys[0]!.x), new TextEncoder().encode(JSON.stringify(jwks.keys[0])), new TextEncoder().encode(jwks.keys[0]!.x)]) {
      await expectInvalidToken(await meWith(`Bearer ${await forgeToken(validHeader({ alg: 'HS256' }), validClaims(base), hs256Signer(secret))}`));
    }
  });

  it('refuses a tampered payload (another user as subject)', async () => {
    const victim = await registerUser();
    const [h, , s] = user.accessToken.split('.');
    const payload = { ...decodeToken(user.accessToken).payload, sub: victim.user.id, sid: decodeToken(victim.accessToken).payload.sid };
    await expectInvalidToken(await meWith(`Bearer ${h}.${b64url(JSON.stringify(payload))}.${s}`));
  });

  it.each([0, 9, 255, 500])('refuses the real token with signature bit %i flipped', async (bit) => {
    await expectInvalidToken(await meWith(`Bearer ${flipSignatureBit(user.accessToken, bit)}`));
  });

  it.each(['key-unknown', '../../etc/passwd', "x' OR '1'='1", '"; DROP TABLE sessions; --', '%00', 'constructor'])('refuses kid %j', async (kid) => {
    await expectInvalidToken(await bearer(validHeader({ kid }), validClaims(base)));
  });

  it.each([
    ['jku', 'https://attacker.example/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['jwk', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }],
    ['x5c', ['MIIBattacker']],
  ])('refuses a %s header, even when the signature is ours', async (name, value) => {
    await expectInvalidToken(await bearer(validHeader({ [name]: value }), validClaims(base)));
  });

  it("refuses an attacker's key embedded as jwk and signed by it", async () => {
    const attacker = await generateSigningJwk('attacker');
    const token = await forgeToken({ alg: 'EdDSA', typ: 'at+jwt', jwk: { kty: 'OKP', crv: 'Ed25519', x: attacker.x } }, validClaims(base), ed25519Signer(attacker));
    await expectInvalidToken(await meWith(`Bearer ${token}`));
  });

  it("refuses an attacker's key under our kid", async () => {
    const attacker = await generateSigningJwk(String(validHeader().kid));
    await expectInvalidToken(await meWith(`Bearer ${await forgeToken(validHeader(), validClaims(base), ed25519Signer(attacker))}`));
  });

  it('refuses an expired token', async () => {
    await expectInvalidToken(await bearer(validHeader(), validClaims(base, { iat: now() - 3600, nbf: now() - 3600, exp: now() - 60 })));
  });

  it('refuses a real-key token that claims a year of life', async () => {
    await expectInvalidToken(await bearer(validHeader(), validClaims(base, { exp: now() + 86_400 * 365 })));
  });

  it('refuses a token not valid yet (nbf in the future)', async () => {
    await expectInvalidToken(await bearer(validHeader(), validClaims(base, { nbf: now() + 300 })));
  });

  it.each([
    ['iss', { iss: 'https://evil.example' }],
    ['aud', { aud: 'some-other-api' }],
  ])('refuses a wrong %s', async (_name, overrides) => {
    await expectInvalidToken(await bearer(validHeader(), validClaims(base, overrides)));
  });

  it.each(['JWT', 'id+jwt'])('refuses typ %s', async (typ) => {
    await expectInvalidToken(await bearer(validHeader({ typ }), validClaims(base)));
  });

  it.each(['sid', 'jti', 'sub', 'exp', 'nbf'])('refuses a token without %s', async (claim) => {
    await expectInvalidToken(await bearer(validHeader(), without(validClaims(base), claim)));
  });

  it("refuses a real-key token that binds one user's subject to another user's session", async () => {
    const other = await registerUser();
    const otherSid = decodeToken(other.accessToken).payload.sid as string;
    await expectInvalidToken(await bearer(validHeader(), validClaims({ sub: base.sub, sid: otherSid })));
    await expectInvalidToken(await bearer(validHeader(), validClaims({ sub: other.user.id, sid: base.sid })));
  });

  it('refuses a real-key token for a session that never existed', async () => {
    await expectInvalidToken(await bearer(validHeader(), validClaims({ sub: base.sub, sid: crypto.randomUUID() })));
  });
});

describe('tokens of ended sessions and deleted users', () => {
  it('refuses the token of a deleted user at once', async () => {
    const doomed = await registerUser();
    expect((await call('/api/v1/users/me', { token: doomed.accessToken })).status).toBe(200);
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ? WHERE public_id = ?').bind(Date.now(), doomed.user.id).run();
    await forgetCaller(doomed.user.id);
    await expectInvalidToken(await call('/api/v1/users/me', { token: doomed.accessToken }));
  });

  it('refuses the token of a session revoked in the database', async () => {
    const u = await registerUser();
    await env.AUTH_DB.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'admin' WHERE public_id = ?").bind(Date.now(), decodeToken(u.accessToken).payload.sid).run();
    await expectInvalidToken(await call('/api/v1/users/me', { token: u.accessToken }));
  });

  it('refuses the token of a session past its absolute lifetime', async () => {
    const u = await registerUser();
    await env.AUTH_DB.prepare('UPDATE sessions SET expires_at = ? WHERE public_id = ?').bind(Date.now() - 1, decodeToken(u.accessToken).payload.sid).run();
    await expectInvalidToken(await call('/api/v1/users/me', { token: u.accessToken }));
  });
});
