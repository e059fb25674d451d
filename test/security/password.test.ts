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
import { argon2idRaw, argon2idPhc } from '../helpers/tokens';

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

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

describe('password policy', () => {
  it.each(['password123', 'PASSWORD123', 'Passw0rd', 'qwertyuiop', '12345678', 'iloveyou'])('refuses the common password %s', (pw) => {
    expect(isCommonPassword(pw)).toBe(true);
    expect(passwordPolicyError(pw)).toBe('Password is too common');
  });

  it('refuses a password equal to the email, in any case', () => {
    expect(passwordPolicyError('Alice@Example.com', 'alice@example.com')).toBe('Password must not be your email');
  });

  it('accepts an uncommon password', () => {
    expect(passwordPolicyError('violet tractor 42 umbrella', 'alice@example.com')).toBeNull();
  });
});
