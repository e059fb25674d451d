/**
 * Where a webhook may be sent. In production (and staging) only https to a public host: never
 * loopback, private, link-local, CGNAT, multicast or metadata addresses (IPv4 or IPv6 literals,
 * IPv4-mapped IPv6), `localhost`, `.localhost`, `.internal`, `.local` or a bare single-label
 * name. Everywhere https to a public host; development and tests also allow 127.0.0.1 /
 * localhost over http (the local test receiver).
 * Redirects are never followed (delivery uses `redirect: 'manual'`), so a public URL cannot
 * bounce to an internal one. A hostname that resolves to a private address is not checked
 * here (Workers has no DNS API); Cloudflare's egress does not route to private ranges anyway.
 */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

function ipv4Private(a: number, b: number): boolean {
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 || // this-network, private, loopback, multicast/reserved
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments (192.0.0.0/24) and TEST-NET-1 share this test
    (a === 198 && (b === 18 || b === 19)) // benchmarking
  );
}

/** WHATWG URL parsing already turns 0x7f.1, 2130706433 and 127.1 into dotted decimal. */
function parseIpv4(host: string): [number, number] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function ipv6Private(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  // IPv4-mapped / -compatible (URL serializes ::ffff:127.0.0.1 as ::ffff:7f00:1)
  const mapped = /^::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = Number.parseInt(mapped[1]!, 16);
    return ipv4Private(hi >> 8, hi & 0xff);
  }
  if (h.startsWith('::ffff:') || h.startsWith('64:ff9b:')) return true; // other mapped / NAT64 forms
  const first = Number.parseInt(h.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7 (includes fd00:ec2::254 metadata)
    (first & 0xffc0) === 0xfe80 || // link-local
    (first & 0xffc0) === 0xfec0 || // site-local (deprecated)
    (first & 0xff00) === 0xff00 || // multicast
    first === 0 || // other ::/16 forms
    h.startsWith('2001:db8:') // documentation
  );
}

const BLOCKED_NAMES = /(^|\.)(localhost|internal|local|localdomain|home\.arpa)$/;

/** `production`: strict rules (see isStrict); otherwise the same plus the local receiver. */
export function checkWebhookUrl(raw: string, options: { production: boolean }): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'credentials in URL' };
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const local = host === '127.0.0.1' || host === 'localhost';
  if (!options.production && local && (url.protocol === 'http:' || url.protocol === 'https:')) return { ok: true, url };
  if (url.protocol !== 'https:') return { ok: false, reason: 'https only' };
  if (host.startsWith('[')) {
    return ipv6Private(host.slice(1, -1)) ? { ok: false, reason: 'private IPv6' } : { ok: true, url };
  }
  const v4 = parseIpv4(host);
  if (v4) return ipv4Private(v4[0], v4[1]) ? { ok: false, reason: 'private IPv4' } : { ok: true, url };
  if (!host.includes('.') || BLOCKED_NAMES.test(host)) return { ok: false, reason: 'internal name' };
  return { ok: true, url };
}

/** Strict everywhere but development: staging talks to the same internet as production. */
export const isStrict = (appEnv: string): boolean => appEnv !== 'development';
