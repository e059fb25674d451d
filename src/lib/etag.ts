import { base64url } from './crypto';

/** A strong entity tag: the first 16 bytes of the SHA-256 of the representation, base64url. */
export async function strongEtag(body: ArrayBuffer | Uint8Array | string): Promise<string> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `"${base64url(digest.subarray(0, 16))}"`;
}

/**
 * `If-None-Match` against the current tag (RFC 9110 §13.1.2): `*` matches any current
 * representation; otherwise a comma-separated list of tags, compared weakly (`W/"x"` = `"x"`).
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag.replace(/^W\//, '') === opaque);
}
