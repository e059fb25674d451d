import { describe, expect, it } from 'vitest';
import { accountKey, clientIpKey, ipv6Hextets, normaliseEmail, UNKNOWN_IP } from '../../src/security/rate-limit/client-key';
import { peek, refund, take } from '../../src/security/rate-limit/sliding-log';

describe('client IP key', () => {
  it('keeps an IPv4 address whole', () => {
    expect(clientIpKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientIpKey(' 198.51.100.1 ')).toBe('198.51.100.1');
  });

  it('groups IPv6 by /64 whatever the spelling', () => {
    const key = '2001:db8:1:2::/64';
    expect(clientIpKey('2001:db8:1:2::1')).toBe(key);
    expect(clientIpKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe(key);
    expect(clientIpKey('2001:db8:1:2:abcd::9%eth0')).toBe(key);
    expect(clientIpKey('2001:db8:1:3::1')).not.toBe(key);
    expect(clientIpKey('::1')).toBe('0:0:0:0::/64');
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address (no second bucket for one client)', () => {
    expect(clientIpKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientIpKey('::ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('puts missing and malformed addresses in one shared bucket', () => {
    for (const bad of [undefined, null, '', 'not-an-ip', '256.1.1.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'a'.repeat(100), '203.0.113.7, 10.0.0.1']) {
      expect(clientIpKey(bad)).toBe(UNKNOWN_IP);
    }
  });

  it('expands compressed IPv6 exactly', () => {
    expect(ipv6Hextets('::')).toEqual(['0', '0', '0', '0', '0', '0', '0', '0']);
    expect(ipv6Hextets('1:2:3:4:5:6:7:8')).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(ipv6Hextets('1:2:3:4:5:6:7::8')).toBeNull();
  });
});

describe('account key', () => {
  it('normalises the body email like the auth schemas do', () => {
    expect(normaliseEmail({ email: '  Alice@Example.COM ', password: 'x' })).toBe('alice@example.com');
  });

  it('returns null for a missing or unusable email, so only the IP is counted', () => {
    for (const body of [undefined, null, 'text', [], {}, { email: 42 }, { email: 'no-at-sign' }, { email: '@example.com' }, { email: 'a@' }, { email: `${'a'.repeat(300)}@x.io` }]) {
      expect(normaliseEmail(body)).toBeNull();
    }
  });

  it('hashes the email: no address in a key, same key for every spelling', async () => {
    const key = await accountKey('alice@example.com', '/auth/login');
    expect(key).toMatch(/^auth:acct:[0-9a-f]{64}$/);
    expect(key).not.toContain('alice');
    expect(await accountKey(normaliseEmail({ email: 'ALICE@example.com' })!, '/auth/login')).toBe(key);
    // Each route has its own per-account budget: register probes never eat the login budget.
    expect(await accountKey('alice@example.com', '/auth/register')).not.toBe(key);
  });
});

describe('sliding-window log', () => {
  const rule = { limit: 3, windowMs: 1_000 };

  it('admits up to the limit in any window, then reports when the next slot frees', () => {
    const hits: number[] = [];
    expect(take(hits, 0, rule)).toMatchObject({ allowed: true, remaining: 2, resetMs: 1_000, stamp: 0 });
    take(hits, 100, rule);
    take(hits, 200, rule);
    expect(take(hits, 300, rule)).toMatchObject({ allowed: false, remaining: 0, resetMs: 700 });
    expect(hits).toEqual([0, 100, 200]);
    // At 1000 the hit from 0 has left the window: exactly one slot.
    expect(take(hits, 1_000, rule)).toMatchObject({ allowed: true, remaining: 0 });
    expect(take(hits, 1_050, rule).allowed).toBe(false);
  });

  it('never admits more than the limit across a window boundary (unlike fixed windows)', () => {
    const hits: number[] = [];
    let admitted = 0;
    for (let t = 900; t < 1_900; t += 10) if (take(hits, t, rule).allowed) admitted += 1;
    expect(admitted).toBe(3);
  });

  it('refund frees one slot and tolerates unknown stamps', () => {
    const hits: number[] = [];
    const a = take(hits, 0, rule);
    take(hits, 10, rule);
    take(hits, 20, rule);
    expect(refund(hits, 30, rule, a.stamp!).remaining).toBe(1);
    expect(refund(hits, 30, rule, 999).remaining).toBe(1);
    expect(peek(hits, 30, rule)).toMatchObject({ allowed: true, remaining: 1, resetMs: 980 });
  });

  it('applies a lowered limit at once', () => {
    const hits = [0, 1, 2, 3, 4];
    expect(take(hits, 10, { limit: 2, windowMs: 1_000 })).toMatchObject({ allowed: false, resetMs: 993 });
  });
});
