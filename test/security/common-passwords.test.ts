import { describe, expect, it } from 'vitest';
import { isCommonPassword } from '../../src/security/common-passwords';
import { COMMON_PASSWORD_SET } from '../../src/security/common-passwords.data';
import { passwordPolicyError } from '../../src/security/password';

// Seeded (mulberry32), so the strings, and whether one happens to share a slot with a listed
// password (≈ 1 in 10,000), are the same on every run: no flaky test.
function seededStrings(seed: number, n: number, length: number): string[] {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&*+-.:=?@_~';
  return Array.from({ length: n }, () => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
}

describe('common passwords (top 10,000 of 8+ characters)', () => {
  it.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'password123', 'passw0rd', 'trustno1', 'football'])('refuses the very common %s', (pw) => {
    expect(isCommonPassword(pw)).toBe(true);
  });

  // Ranks among the kept entries (and in the source list): deep in the 10,000.
  it.each([
    ['yorktown', 8_720],
    ['thunderbird', 8_727],
    ['professional', 8_747],
    ['09091977', 8_996],
    ['alexandria', 9_893],
    ['account1', 9_894],
    ['1q2q3q4q5q', 9_988],
  ])('refuses %s, ranked %i', (pw) => {
    expect(isCommonPassword(pw)).toBe(true);
  });

  it('still refuses the hand-picked entries of the list it replaced', () => {
    for (const pw of ['qwerty!@#', 'p@ssword', 'letmein123', 'password!', 'matrix123']) expect(isCommonPassword(pw), pw).toBe(true);
  });

  it('matches case-insensitively', () => {
    for (const pw of ['PASSWORD', 'IloveYou', 'QwertyUIOP', 'Thunderbird']) expect(isCommonPassword(pw), pw).toBe(true);
    expect(passwordPolicyError('Professional')).toBe('Password is too common');
  });

  it('accepts 50 random 16-character strings', () => {
    for (const pw of seededStrings(0x5eed, 50, 16)) expect(isCommonPassword(pw), pw).toBe(false);
  });

  it('has a false-positive rate near the designed 1 in 10,000', () => {
    const hits = seededStrings(0xf00d, 20_000, 12).filter((pw) => isCommonPassword(pw)).length;
    expect(hits).toBeLessThanOrEqual(10); // 2 expected
    expect(COMMON_PASSWORD_SET.range / COMMON_PASSWORD_SET.count).toBeGreaterThanOrEqual(10_000);
  });

  it('accepts an uncommon passphrase and the longest allowed password', () => {
    expect(isCommonPassword('violet tractor 42 umbrella')).toBe(false);
    expect(isCommonPassword('x'.repeat(128))).toBe(false);
  });
});
