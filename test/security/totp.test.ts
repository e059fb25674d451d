import { encodeBase32NoPadding } from '@oslojs/encoding';
import { createTOTPKeyURI, generateHOTP } from '@oslojs/otp';
import { describe, expect, it } from 'vitest';
import { matchTotp, toBase32, totpUri } from '../../src/security/totp';

// TOTP on WebCrypto HMAC-SHA1 (no JavaScript SHA-1 in the bundle), checked against RFC 6238's
// vectors and against @oslojs/otp (the implementation it replaced, kept as a dev dependency).
const RFC_SECRET = new TextEncoder().encode('12345678901234567890');

describe('TOTP (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
    [20000000000, '353130'],
  ])('matches the RFC 6238 vector at T=%i', async (seconds, code) => {
    expect(await matchTotp(RFC_SECRET, code, seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts one step either side, no further, and returns the step of the code', async () => {
    const now = 1_700_000_000_000;
    const current = Math.floor(now / 30_000);
    for (const offset of [-1, 0, 1]) expect(await matchTotp(RFC_SECRET, generateHOTP(RFC_SECRET, BigInt(current + offset), 6), now)).toBe(current + offset);
    for (const offset of [-2, 2]) expect(await matchTotp(RFC_SECRET, generateHOTP(RFC_SECRET, BigInt(current + offset), 6), now)).toBeNull();
  });

  it('agrees with @oslojs/otp on random secrets and refuses malformed codes', async () => {
    for (let i = 0; i < 20; i += 1) {
      const secret = crypto.getRandomValues(new Uint8Array(20));
      const step = 56_000_000 + i * 7;
      expect(await matchTotp(secret, generateHOTP(secret, BigInt(step), 6), step * 30_000 + 1)).toBe(step);
    }
    for (const bad of ['', '12345', '1234567', '12345a', ' 123456']) expect(await matchTotp(RFC_SECRET, bad, 59_000)).toBeNull();
  });

  it('writes the same base32 and otpauth URI as @oslojs/otp', () => {
    for (const length of [1, 2, 3, 4, 5, 10, 20, 32]) {
      const secret = crypto.getRandomValues(new Uint8Array(length));
      expect(toBase32(secret)).toBe(encodeBase32NoPadding(secret));
    }
    const secret = crypto.getRandomValues(new Uint8Array(20));
    expect(totpUri('app-ubr (dev)', 'a+b@example.com', secret)).toBe(createTOTPKeyURI('app-ubr (dev)', 'a+b@example.com', secret, 30, 6));
  });
});
