import { env, exports } from 'cloudflare:workers';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE, freshIp, json, registerUser, type TokenPair } from '../helpers/api';
import { callWithEnv, decodeToken, generateSigningJwk, workerJwks } from '../helpers/tokens';

interface Jwks {
  keys: JWK[];
}

describe('GET /.well-known/jwks.json', () => {
  it('publishes the public half of every signing key, cacheable', async () => {
    const res = await exports.default.fetch(`${BASE}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300, stale-while-revalidate=3600');
    const { keys } = await json<Jwks>(res);
    const secret = workerJwks();
    expect(keys).toHaveLength(secret.length);
    keys.forEach((k, i) => {
      expect(k).toEqual({ kty: 'OKP', crv: 'Ed25519', x: secret[i]!.x, kid: secret[i]!.kid, alg: 'EdDSA', use: 'sig' });
    });
    expect(JSON.stringify(keys)).not.toContain(secret[0]!.d);
  });

  it("names the kid that signed the Worker's access tokens", async () => {
    const user = await registerUser();
    const { keys } = await json<Jwks>(await exports.default.fetch(`${BASE}/.well-known/jwks.json`));
    expect(keys.map((k) => k.kid)).toContain(decodeToken(user.accessToken).header.kid);
  });
});

describe('signing-key rotation (JWT_SIGNING_KEYS holding two keys)', () => {
  let current: JWK;
  let rotated: string;
  let newOnly: string;

  beforeAll(async () => {
    current = workerJwks()[0]!;
    const next = await generateSigningJwk(`rotation-${crypto.randomUUID().slice(0, 8)}`);
    rotated = JSON.stringify([next, current]); // the new key signs, the old one still verifies
    newOnly = JSON.stringify([next]); // after the access-token lifetime the old key is dropped
  });

  it('publishes both keys during the rotation, the new one first', async () => {
    const res = await callWithEnv({ JWT_SIGNING_KEYS: rotated }, '/.well-known/jwks.json');
    const { keys } = await json<Jwks>(res);
    expect(keys.map((k) => k.kid)).toEqual([(JSON.parse(rotated) as JWK[])[0]!.kid, current.kid]);
    for (const k of keys) expect(k).not.toHaveProperty('d');
  });

  it('keeps tokens signed by the previous key valid, signs new ones with the new key', async () => {
    const user = await registerUser(); // signed by the current (soon previous) key
    expect((await callWithEnv({ JWT_SIGNING_KEYS: rotated }, '/api/v1/users/me', { token: user.accessToken })).status).toBe(200);

    const res = await callWithEnv({ JWT_SIGNING_KEYS: rotated }, '/api/v1/auth/login', { body: { email: user.email, password: user.password }, ip: freshIp() });
    expect(res.status).toBe(200);
    const fresh = await json<TokenPair>(res);
    const newKid = (JSON.parse(rotated) as JWK[])[0]!.kid;
    expect(decodeToken(fresh.accessToken).header.kid).toBe(newKid);
    expect((await callWithEnv({ JWT_SIGNING_KEYS: rotated }, '/api/v1/users/me', { token: fresh.accessToken })).status).toBe(200);
    // A Worker that does not know the new key yet (old deployment) refuses it.
    expect((await exports.default.fetch(new Request(`${BASE}/api/v1/users/me`, { headers: { Authorization: `Bearer ${fresh.accessToken}` } }))).status).toBe(401);

    // Once the old key is dropped, its tokens stop; the new key's tokens keep working.
    expect((await callWithEnv({ JWT_SIGNING_KEYS: newOnly }, '/api/v1/users/me', { token: user.accessToken })).status).toBe(401);
    expect((await callWithEnv({ JWT_SIGNING_KEYS: newOnly }, '/api/v1/users/me', { token: fresh.accessToken })).status).toBe(200);
  });

  it('uses the same local D1 as the default Worker (the override is the key only)', async () => {
    expect(env.AUTH_DB).toBeDefined();
    const user = await registerUser();
    const res = await callWithEnv({ JWT_SIGNING_KEYS: rotated }, '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken }, ip: freshIp() });
    expect(res.status).toBe(200);
  });
});
