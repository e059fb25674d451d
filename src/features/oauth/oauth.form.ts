import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../lib/factory';
import { singleValued } from './authorize';
import type { ClientCredentials } from './oauth.service';
import { OAuthError } from './oauth.errors';

/** The OAuth endpoints sit outside /api (form bodies, RFC errors): they read their own bodies. */
const MAX_FORM_BYTES = 16_384;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

/**
 * Parses an application/x-www-form-urlencoded body (at most 16 KiB) into `c.var.formBody`;
 * anything else leaves it unset (the handler answers invalid_request). For the auth-tier limiter,
 * the `email` field is also exposed as the body (`c.var.jsonBody`).
 */
export const oauthForm = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const declared = Number(c.req.header('Content-Length') ?? '0');
    if (FORM_TYPE.test(c.req.header('Content-Type') ?? '') && c.req.raw.body && !(declared > MAX_FORM_BYTES)) {
      const bytes = await new Response(c.req.raw.body).arrayBuffer();
      if (bytes.byteLength <= MAX_FORM_BYTES) {
        const form = new URLSearchParams(new TextDecoder().decode(bytes));
        c.set('formBody', form);
        const email = form.get('email');
        if (email) c.set('jsonBody', { email });
      }
    }
    await next();
  });

/** The form's parameters, each at most once (RFC 6749 §3.1), or invalid_request. */
export function formParams(form: URLSearchParams | undefined): Map<string, string> {
  if (!form) throw new OAuthError(400, 'invalid_request', 'Expected an application/x-www-form-urlencoded body');
  const p = singleValued(form);
  if (!p) throw new OAuthError(400, 'invalid_request', 'A parameter was sent more than once');
  return p;
}

/**
 * The client's credentials: HTTP Basic (client_secret_basic, RFC 6749 §2.3.1: form-urlencoded id
 * and secret) or client_id/client_secret in the body (client_secret_post), or client_id alone
 * (none, public clients). Two methods at once is invalid_request.
 */
export function clientCredentials(authorization: string | undefined, p: Map<string, string>): ClientCredentials | null {
  const basic = /^basic +([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (authorization && !basic) throw new OAuthError(401, 'invalid_client', 'Unsupported client authentication');
  if (basic) {
    if (p.has('client_secret')) throw new OAuthError(400, 'invalid_request', 'Use one client authentication method');
    let decoded: string;
    try {
      decoded = atob(basic[1]!);
    } catch {
      throw new OAuthError(401, 'invalid_client', 'Malformed Basic credentials');
    }
    const i = decoded.indexOf(':');
    if (i < 0) throw new OAuthError(401, 'invalid_client', 'Malformed Basic credentials');
    let id: string, secret: string;
    try {
      id = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
    } catch {
      throw new OAuthError(401, 'invalid_client', 'Malformed Basic credentials');
    }
    if (p.has('client_id') && p.get('client_id') !== id) throw new OAuthError(400, 'invalid_request', 'client_id does not match the credentials');
    return { clientId: id, secret };
  }
  const id = p.get('client_id');
  if (!id) return null;
  return { clientId: id, secret: p.get('client_secret') ?? null };
}
