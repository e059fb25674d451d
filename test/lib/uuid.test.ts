import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/lib/uuid';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7 (RFC 9562, WebCrypto randomness, monotonic counter)', () => {
  it('has the version 7 and RFC variant bits, and the current time in its first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    expect(id).toMatch(V7);
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('is strictly increasing and unique within an isolate, also while Date.now() stands still', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i += 1) expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(V7);
  });

  it('keeps increasing when the clock goes back', () => {
    const realNow = Date.now;
    const first = uuidv7();
    try {
      Date.now = () => realNow() - 5_000;
      expect(uuidv7() > first).toBe(true);
    } finally {
      Date.now = realNow;
    }
  });
});
