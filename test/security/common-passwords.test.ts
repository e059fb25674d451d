import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { isCommonPassword, loadCommonPasswordSet, type AssetFetcher } from '../../src/security/common-passwords';
import { COMMON_PASSWORD_ASSET } from '../../src/security/common-passwords.data';
import { passwordPolicyError } from '../../src/security/password';
import { call, freshIp, json } from '../helpers/api';

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
  it.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'password123', 'passw0rd', 'trustno1', 'football'])('refuses the very common %s', async (pw) => {
    expect(await isCommonPassword(pw)).toBe(true);
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
  ])('refuses %s, ranked %i', async (pw) => {
    expect(await isCommonPassword(pw)).toBe(true);
  });

  it('still refuses the hand-picked entries of the list it replaced', async () => {
    for (const pw of ['qwerty!@#', 'p@ssword', 'letmein123', 'password!', 'matrix123']) expect(await isCommonPassword(pw), pw).toBe(true);
  });

  it('matches case-insensitively', async () => {
    for (const pw of ['PASSWORD', 'IloveYou', 'QwertyUIOP', 'Thunderbird']) expect(await isCommonPassword(pw), pw).toBe(true);
    expect(await passwordPolicyError('Professional')).toBe('Password is too common');
  });

  it('accepts 50 random 16-character strings', async () => {
    for (const pw of seededStrings(0x5eed, 50, 16)) expect(await isCommonPassword(pw), pw).toBe(false);
  });

  it('has a false-positive rate near the designed 1 in 10,000', async () => {
    let hits = 0;
    for (const pw of seededStrings(0xf00d, 20_000, 12)) if (await isCommonPassword(pw)) hits += 1;
    expect(hits).toBeLessThanOrEqual(10); // 2 expected
    const set = await loadCommonPasswordSet();
    expect(set.count).toBe(COMMON_PASSWORD_ASSET.count);
    expect(set.range / set.count).toBeGreaterThanOrEqual(10_000);
  });

  it('accepts an uncommon passphrase and the longest allowed password', async () => {
    expect(await isCommonPassword('violet tractor 42 umbrella')).toBe(false);
    expect(await isCommonPassword('x'.repeat(128))).toBe(false);
  });
});

describe('the set is a static asset, read through ASSETS', () => {
  it('is served to the Worker by its ASSETS binding, byte for byte what the build hashed', async () => {
    const res = await env.ASSETS.fetch(`http://assets.local${COMMON_PASSWORD_ASSET.path}`);
    expect(res.status).toBe(200);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await res.arrayBuffer()));
    expect(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')).toBe(COMMON_PASSWORD_ASSET.sha256);
  });

  it('is not an API path: the Worker answers 404 for it', async () => {
    const res = await call(COMMON_PASSWORD_ASSET.path);
    expect(res.status).toBe(404);
  });

  it('a missing asset fails closed and loudly: the check throws, every time, never "not common"', async () => {
    let fetches = 0;
    const missing: AssetFetcher = { fetch: () => (fetches++, Promise.resolve(new Response('Not Found', { status: 404 }))) };
    await expect(isCommonPassword('violet tractor 42 umbrella', missing)).rejects.toThrow(/common-password set unavailable.*404/);
    await expect(isCommonPassword('password123', missing)).rejects.toThrow(/unavailable/);
    // A failed load is not remembered: the next request tries again (a transient failure heals).
    expect(fetches).toBe(2);
  });

  it('a stale or altered asset is refused, not read', async () => {
    const real = await (await env.ASSETS.fetch(`http://assets.local${COMMON_PASSWORD_ASSET.path}`)).text();
    const emptied = real.replace(/"data":"[^"]*"/, '"data":""');
    const altered: AssetFetcher = { fetch: () => Promise.resolve(new Response(emptied)) };
    await expect(isCommonPassword('password123', altered)).rejects.toThrow(/SHA-256/);
  });

  it('a failing fetch (network, runtime) also fails closed', async () => {
    const broken: AssetFetcher = { fetch: () => Promise.reject(new Error('boom')) };
    await expect(isCommonPassword('violet tractor 42 umbrella', broken)).rejects.toThrow('boom');
  });

  it('registration still refuses a listed password, through the API', async () => {
    const res = await call('/api/v1/auth/register', { ip: freshIp(), body: { email: `cp-${crypto.randomUUID()}@example.com`, password: 'Thunderbird', fullName: 'C P' } });
    expect(res.status).toBe(400);
    const body = await json<{ error: { code: string; details?: { field: string; message: string }[] } }>(res);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(body.error.details).toContainEqual({ field: 'password', message: 'Password is too common' });
  });
});
