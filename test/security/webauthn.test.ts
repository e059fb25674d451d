import { describe, expect, it } from 'vitest';
import { derToRawEcdsa, verifyAssertion, verifyRegistration, WebAuthnError, type RelyingParty } from '../../src/security/webauthn';
import { SoftAuthenticator, type Alg, type Ceremony } from '../helpers/webauthn';

const rp: RelyingParty = { id: 'localhost', name: 'test', origins: ['http://localhost:8787'] };
const challenge = 'c2VydmVyLWNoYWxsZW5nZS0zMi1ieXRlcy1sb25nLXh4';

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WebAuthnError) return err.reason;
    throw err;
  }
  return 'accepted';
}

async function registered(alg: Alg = 'ES256', c: Ceremony = {}) {
  const auth = new SoftAuthenticator(alg);
  const cred = await auth.create({ challenge, user: { id: 'dXNlcg' } }, c);
  return { auth, cred, verify: () => verifyRegistration({ rawId: cred.rawId, ...cred.response }, { challenge, rp }) };
}

describe('webauthn verification (each refusal for its own reason)', () => {
  it.each<[Ceremony, string]>([
    [{ origin: 'https://evil.example' }, 'origin not allowed'],
    [{ rpId: 'evil.example' }, 'rpId mismatch'],
    [{ challenge: 'other' }, 'challenge mismatch'],
    [{ type: 'webauthn.get' }, 'wrong ceremony type'],
    [{ flags: 0x41 }, 'user not verified'],
    [{ flags: 0x44 }, 'user not present'],
  ])('registration %j → %s', async (c, want) => {
    expect(await reason((await registered('ES256', c)).verify())).toBe(want);
  });

  it.each<[Ceremony, string]>([
    [{ origin: 'http://localhost:3001' }, 'origin not allowed'],
    [{ rpId: 'example.com' }, 'rpId mismatch'],
    [{ challenge: 'other' }, 'challenge mismatch'],
    [{ flags: 0x01 }, 'user not verified'],
    [{ counter: 0 }, 'counter regression'],
  ])('assertion %j → %s', async (c, want) => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const { auth, verify } = await registered(alg, { counter: 5 });
      const stored = await verify();
      const a = await auth.get({ challenge }, c);
      expect(await reason(verifyAssertion(a.response, { challenge, rp, publicKey: stored.publicKey, counter: stored.counter })), alg).toBe(want);
    }
  });

  it('accepts a good assertion and refuses another key and a flipped signature', async () => {
    const { auth, verify } = await registered('EdDSA');
    const stored = await verify();
    const a = await auth.get({ challenge });
    expect(await verifyAssertion(a.response, { challenge, rp, publicKey: stored.publicKey, counter: 0 })).toEqual({ counter: 1, backedUp: false });
    const other = await (await registered('EdDSA')).verify();
    expect(await reason(verifyAssertion(a.response, { challenge, rp, publicKey: other.publicKey, counter: 0 }))).toBe('bad signature');
  });

  it('as a second factor accepts a touch without user verification, never an assertion without user presence', async () => {
    const { auth, verify } = await registered('ES256');
    const stored = await verify();
    const touch = await auth.get({ challenge }, { flags: 0x01 });
    expect(await verifyAssertion(touch.response, { challenge, rp, publicKey: stored.publicKey, counter: 0, userVerification: 'preferred' })).toEqual({ counter: 1, backedUp: false });
    const absent = await auth.get({ challenge }, { flags: 0x04 });
    expect(await reason(verifyAssertion(absent.response, { challenge, rp, publicKey: stored.publicKey, counter: 1, userVerification: 'preferred' }))).toBe('user not present');
  });

  it('parses DER signatures strictly', () => {
    expect(() => derToRawEcdsa(new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]))).toThrow(WebAuthnError);
    const raw = derToRawEcdsa(new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]));
    expect(raw[31]).toBe(1);
    expect(raw[63]).toBe(2);
  });
});
