import type { Context } from 'hono';
import * as z from 'zod/mini';
import { sha256Hex } from '../../lib/crypto';
import type { AppEnv } from '../../lib/factory';

/**
 * Who a request is counted against. Key layout (one Durable Object / one Redis key per key):
 *
 * | key                          | used by              | identity                                  |
 * |------------------------------|----------------------|-------------------------------------------|
 * | `auth:ip:<ip>`               | auth tier            | client IPv4, or IPv6 /64 (`2001:db8:1:2::/64`) |
 * | `auth:acct:<sha256(route, email)>` | auth tier       | normalised email (trim + lower case) per route, hashed: no PII at rest in Redis |
 * | `<tier>:key:<apiKeyId>`      | general tiers        | API key (service calls; hook below)        |
 * | `<tier>:user:<userPublicId>` | general tiers        | signed-in user                            |
 * | `<tier>:ip:<ip>`             | general tiers        | anonymous caller                          |
 * | `authfail:ip:<ip>`           | failed key/bearer auth | client IP (see middleware/auth-failures.ts) |
 *
 * The client IP comes from `CF-Connecting-IP` only: Cloudflare sets it and strips any
 * client-sent copy; `X-Forwarded-For` is client-controlled and never read.
 */

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-f]{1,4}$/;
/** Every caller whose IP is missing or malformed shares one (strict) bucket. */
export const UNKNOWN_IP = 'unknown';

function ipv4Hextets(v4: string): string[] | null {
  if (!IPV4.test(v4)) return null;
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/** Expands an IPv6 address to its 8 hextets (lower case, no leading zeros), or null. */
export function ipv6Hextets(input: string): string[] | null {
  const addr = input.toLowerCase().replace(/%.*$/, ''); // zone id ("%eth0") is local only
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const side = (s: string): string[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    const last = parts[parts.length - 1]!;
    if (last.includes('.')) {
      const tail = ipv4Hextets(last);
      if (!tail) return null;
      parts.splice(parts.length - 1, 1, ...tail);
    }
    return parts.every((p) => HEXTET.test(p)) ? parts : null;
  };
  const head = side(halves[0]!);
  const tail = halves.length === 2 ? side(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((h) => Number.parseInt(h, 16).toString(16));
}

/**
 * The rate-limit identity of a client address: the IPv4 address itself, or the /64 prefix of
 * an IPv6 address (one subscriber usually holds a whole /64, so per-address keys would hand
 * an attacker 2^64 buckets). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as the IPv4 address.
 */
export function clientIpKey(header: string | undefined | null): string {
  const raw = header?.trim() ?? '';
  if (raw.length === 0 || raw.length > 64) return UNKNOWN_IP;
  if (IPV4.test(raw)) return raw;
  const hextets = ipv6Hextets(raw);
  if (!hextets) return UNKNOWN_IP;
  if (hextets.slice(0, 5).every((h) => h === '0') && hextets[5] === 'ffff') {
    const [hi, lo] = [Number.parseInt(hextets[6]!, 16), Number.parseInt(hextets[7]!, 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return `${hextets.slice(0, 4).join(':')}::/64`;
}

// Lenient on purpose: this runs before body validation, and a body that fails here simply
// counts against the IP only (the route's own validation answers 400 afterwards).
const EmailField = z.object({ email: z.string().check(z.maxLength(320)) });

/** Normalises like the auth schemas (trim + lower case); null when there is no usable email. */
export function normaliseEmail(body: unknown): string | null {
  const parsed = EmailField.safeParse(body);
  if (!parsed.success) return null;
  const email = parsed.data.email.trim().toLowerCase();
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 && email.length <= 254 ? email : null;
}

/**
 * `auth:acct:<hash>`: the email is hashed so no address sits in a Redis console or a DO name.
 * The route is part of the key: failed logins, register probes and reset requests each have
 * their own per-account budget, so probing `register` with someone's email cannot lock that
 * person out of `login`.
 */
export async function accountKey(email: string, scope: string): Promise<string> {
  return `auth:acct:${await sha256Hex(`app-ubr:rate-limit:${scope}:${email}`)}`;
}

/** The API key a service call authenticated with (set by the route guard), if any. */
export function apiKeyIdOf(c: Context<AppEnv>): string | undefined {
  return c.var.auth?.apiKeyId;
}

/** The identity of a general-tier request: API key, else signed-in user, else client IP. */
export function callerKey(c: Context<AppEnv>): string {
  const apiKeyId = apiKeyIdOf(c);
  if (apiKeyId) return `key:${apiKeyId}`;
  if (c.var.auth) return `user:${c.var.auth.userId}`;
  return `ip:${clientIpKey(c.req.header('CF-Connecting-IP'))}`;
}
