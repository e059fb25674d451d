import { base64url } from './crypto';
import { AppError, defineErrors } from './errors';

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

export const PRECONDITION_ERRORS = defineErrors({
  PRECONDITION_FAILED: 'The resource changed since you read it (If-Match): read it again, then retry',
});

declare module './errors' {
  interface FeatureErrors {
    preconditions: typeof PRECONDITION_ERRORS;
  }
}

/** `If-Match` (RFC 9110 §13.1.1): `*` matches any current representation; tags compare strongly (a weak tag never matches). */
export function ifMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag === etag);
}

/**
 * Lost-update protection for a write declared `ifMatch: true`: with an `If-Match` header, the
 * current representation (exactly what the GET of the resource answers, so the same tag) must
 * match, else 412 PRECONDITION_FAILED. Without the header the write goes ahead. A resource that
 * does not exist is left to the handler (its 404). The write itself should also be conditional
 * on what was read (e.g. `updated_at`), so a change landing between this check and it is caught.
 * @example await assertIfMatch(c.req.header('If-Match'), await loadUserView(db, id))
 */
export async function assertIfMatch(header: string | undefined, current: unknown): Promise<void> {
  if (header === undefined || current === null || current === undefined) return;
  if (!ifMatch(header, await strongEtag(JSON.stringify(current)))) throw new AppError(412, 'PRECONDITION_FAILED');
}
