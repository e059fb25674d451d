import { argon2id as nobleArgon2id } from '@noble/hashes/argon2.js';
import { describe, expect, it } from 'vitest';
import { isCommonPassword } from '../../src/security/common-passwords';
import {
  burnPasswordWork,
  hashPassword,
  needsRehash,
  PASSWORD_PARAMS,
  passwordPolicyError,
  verifyPassword,
} from '../../src/security/password';
import { argon2idPhc, argon2idRaw, b64std } from '../helpers/tokens';

// The PHC string format: standard base64 (A-Z a-z 0-9 + /), no padding.
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

/** Standard base64 only: atob would read "-" and "_" as errors, so a base64url field fails here. */
function fromStdBase64(text: string): Uint8Array {
  expect(text).toMatch(/^[A-Za-z0-9+/]+$/);
  return Uint8Array.from(atob(text + '==='.slice((text.length + 3) % 4)), (ch) => ch.charCodeAt(0));
}

/** Salt bytes whose base64 holds "+" (0xfb 0xef 0xbe) and "/" (0xff), and whose base64url holds "-" and "_". */
const SYMBOL_SALT = Uint8Array.from([0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a]);

describe('the argon2id module in workerd', () => {
  it('computes the RFC 9106 argon2id test vector (§5.3)', async () => {
    const tag = await argon2idRaw({
      password: new Uint8Array(32).fill(1),
      salt: new Uint8Array(16).fill(2),
      secret: new Uint8Array(8).fill(3),
      ad: new Uint8Array(12).fill(4),
      passes: 3,
      memorySize: 32,
      parallelism: 4,
      tagLength: 32,
    });
    expect([...tag].map((b) => b.toString(16).padStart(2, '0')).join('')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });
});

describe('hashPassword / verifyPassword', () => {
  it('stores the algorithm and its parameters with a random salt (OWASP minimum)', async () => {
    expect(PASSWORD_PARAMS).toMatchObject({ memorySize: 19_456, passes: 2, parallelism: 1 });
    const [a, b] = [await hashPassword('correct horse battery'), await hashPassword('correct horse battery')];
    expect(a).toMatch(PHC);
    expect(PHC.exec(a)!.slice(1, 4)).toEqual(['19456', '2', '1']);
    expect(a).not.toBe(b);
    expect(PHC.exec(a)![4]).not.toBe(PHC.exec(b)![4]);
    expect(needsRehash(a)).toBe(false);
  });

  it('produces a standard argon2id hash (same tag as the module computes directly)', async () => {
    const stored = await hashPassword('interoperable secret');
    const [, m, t, p, salt, tag] = PHC.exec(stored)!;
    const direct = await argon2idPhc('interoperable secret', { memorySize: Number(m), passes: Number(t), parallelism: Number(p) }, salt);
    expect(direct.split('$').pop()).toBe(tag);
  });

  it('verifies the password exactly as received: no trimming, case folding or normalisation', async () => {
    const password = '  Grüße aus Köln  ';
    const stored = await hashPassword(password);
    expect(await verifyPassword(password, stored)).toBe(true);
    for (const variant of [password.trim(), `${password} `, password.toLowerCase(), password.normalize('NFD'), password.slice(0, -1)]) {
      expect(await verifyPassword(variant, stored), JSON.stringify(variant)).toBe(false);
    }
  });

  it('refuses a wrong password and a tampered hash', async () => {
    const stored = await hashPassword('the right password');
    expect(await verifyPassword('the wrong password', stored)).toBe(false);
    const last = stored.at(-2) === 'A' ? 'B' : 'A';
    expect(await verifyPassword('the right password', `${stored.slice(0, -2)}${last}${stored.at(-1)}`)).toBe(false);
  });

  it('answers false (never throws) for passwords shorter than argon2 accepts', async () => {
    const stored = await hashPassword('a long enough password');
    for (const short of ['', 'a', 'seven77', 'ü']) {
      await expect(verifyPassword(short, stored), JSON.stringify(short)).resolves.toBe(false);
      await expect(burnPasswordWork(short)).resolves.toBeUndefined();
    }
  });

  it('answers false for an unparseable stored hash, at the cost of a hash', async () => {
    for (const stored of ['', 'plaintext', '$2b$10$abcdefghijklmnopqrstuv', '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA']) {
      expect(await verifyPassword('whatever password', stored)).toBe(false);
      expect(needsRehash(stored)).toBe(true);
    }
  });

  it('verifies a hash made with other parameters and flags it for a rehash', async () => {
    for (const params of [
      { memorySize: 8_192, passes: 1, parallelism: 1 },
      { memorySize: 19_456, passes: 3, parallelism: 1 },
      { memorySize: 4_096, passes: 2, parallelism: 2 },
    ]) {
      const stored = await argon2idPhc('an older hash', params);
      expect(await verifyPassword('an older hash', stored)).toBe(true);
      expect(await verifyPassword('an older hash!', stored)).toBe(false);
      expect(needsRehash(stored)).toBe(true);
    }
    expect(needsRehash(await argon2idPhc('tag length differs', { ...PASSWORD_PARAMS, tagLength: 16 }))).toBe(true);
  });
});

describe('PHC string interoperability', () => {
  // phc-winner-argon2 (the reference implementation), src/test.c, argon2id cases: the encoded
  // strings it asserts, verbatim. Two have "+" or "/" in the hash; the last has neither.
  const REFERENCE_VECTORS: [password: string, encoded: string][] = [
    ['password', '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'],
    ['password', '$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc'],
    ['password', '$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg'],
    ['differentpassword', '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94'],
    ['password', '$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw'],
  ];

  it.each(REFERENCE_VECTORS)('verifies the reference implementation vector for %s: %s', async (password, encoded) => {
    expect(await verifyPassword(password, encoded)).toBe(true);
    expect(await verifyPassword(`${password}!`, encoded)).toBe(false);
    expect(needsRehash(encoded)).toBe(true); // cheaper or other parameters than today's policy
  });

  // Made with the reference CLI at today's policy (Debian's argon2 0~20171227):
  //   printf '%s' "$PASSWORD" | argon2 "$SALT" -id -t 2 -k 19456 -p 1 -l 32 -e
  it.each([
    ['correct horse battery staple', '$argon2id$v=19$m=19456,t=2,p=1$YXBwLXVici12ZWN0b3IxNg$zRlYi/ms2aQhTWiPMr+5COJ5Ln5BKqSa9UkJ0ngm270'],
    ['Grüße, Köln! ✓', '$argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$+MFplsEfyeEsPFUhT8U8aBIa4WEA+nBAUMxA2oo10wY'],
  ])('accepts a reference CLI hash at the current policy as is: %s', async (password, encoded) => {
    expect(await verifyPassword(password, encoded)).toBe(true);
    expect(await verifyPassword(password.toUpperCase(), encoded)).toBe(false);
    expect(needsRehash(encoded)).toBe(false);
  });

  it('writes hashes that an independent implementation (@noble/hashes) verifies', async () => {
    const password = 'checked by another argon2';
    const stored = await hashPassword(password);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    const [, m, t, p, salt, tag] = PHC.exec(stored)!;
    const expected = nobleArgon2id(password, fromStdBase64(salt!), { m: Number(m), t: Number(t), p: Number(p), dkLen: 32 });
    expect(fromStdBase64(tag!)).toEqual(expected);
  });

  it('verifies hashes made by an independent implementation (@noble/hashes), "+" and "/" included', async () => {
    const password = 'made elsewhere, checked here';
    const tag = nobleArgon2id(password, SYMBOL_SALT, { m: 64, t: 1, p: 1, dkLen: 32 });
    const encoded = `$argon2id$v=19$m=64,t=1,p=1$${b64std(SYMBOL_SALT)}$${b64std(tag)}`;
    expect(encoded.split('$')[4]).toMatch(/\+.*\//);
    expect(await verifyPassword(password, encoded)).toBe(true);
    expect(await verifyPassword('made elsewhere, checked there', encoded)).toBe(false);
  });

  it('verifies a hash stored in base64url by an earlier version and flags it for a rehash', async () => {
    const password = 'stored before the fix';
    const url = await argon2idPhc(password, PASSWORD_PARAMS, b64std(SYMBOL_SALT), 'base64url');
    const std = await argon2idPhc(password, PASSWORD_PARAMS, b64std(SYMBOL_SALT), 'base64');
    expect(url.split('$')[4]).toMatch(/-.*_/);
    expect(await verifyPassword(password, url)).toBe(true);
    expect(await verifyPassword('stored after the fix', url)).toBe(false);
    expect(needsRehash(url)).toBe(true);
    expect(await verifyPassword(password, std)).toBe(true);
    expect(needsRehash(std)).toBe(false);
  });

  it('does not rehash a hash whose salt and tag read the same in both alphabets', async () => {
    let stored = '';
    for (let i = 0; i < 200 && !stored; i++) {
      const candidate = await argon2idPhc('no symbols at all', PASSWORD_PARAMS, undefined, 'base64url');
      if (/^[^+/_-]+$/.test(candidate.split('$').slice(4).join(''))) stored = candidate;
    }
    expect(stored).not.toBe('');
    expect(await verifyPassword('no symbols at all', stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
  });

  it('refuses a field that mixes the two alphabets, or has a length no base64 has', async () => {
    const stored = await argon2idPhc('mixed alphabets', PASSWORD_PARAMS, b64std(SYMBOL_SALT));
    const [head, salt, tag] = [stored.split('$').slice(0, 4).join('$'), stored.split('$')[4]!, stored.split('$')[5]!];
    for (const bad of [`${head}$${salt.replace('/', '_')}$${tag}`, `${head}$${salt}AAA$${tag}`, `${head}$${salt}==$${tag}`]) {
      expect(await verifyPassword('mixed alphabets', bad), bad).toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });
});

describe('password policy', () => {
  it.each(['password123', 'PASSWORD123', 'Passw0rd', 'qwertyuiop', '12345678', 'iloveyou'])('refuses the common password %s', async (pw) => {
    expect(await isCommonPassword(pw)).toBe(true);
    expect(await passwordPolicyError(pw)).toBe('Password is too common');
  });

  it('refuses a password equal to the email, in any case', async () => {
    expect(await passwordPolicyError('Alice@Example.com', 'alice@example.com')).toBe('Password must not be your email');
  });

  it('accepts an uncommon password', async () => {
    expect(await passwordPolicyError('violet tractor 42 umbrella', 'alice@example.com')).toBeNull();
  });
});
