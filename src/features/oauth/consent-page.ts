import type { AuthorizationRequest } from './authorize';

/**
 * The consent page: plain HTML, no script (works without JavaScript), posted back to
 * /oauth/authorize. No cookie or ambient session exists, so a cross-site post cannot act as the
 * user; the signed ticket pins the request that was shown.
 */

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay connected when you are away',
};

const STYLE = 'body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem}button{padding:.5rem 1rem;margin:.8rem .5rem 0 0}.err{color:#b00}';

/** Only the page's own inline style; forms post to us and, after the redirect, to the client. */
export function consentCsp(redirectUri?: string): string {
  // form-action also governs the redirect after the post: allow the client's origin (or its private-use scheme).
  const url = redirectUri ? new URL(redirectUri) : null;
  const target = url ? ` ${url.origin === 'null' ? url.protocol : url.origin}` : '';
  return `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${target}; frame-ancestors 'none'; base-uri 'none'`;
}

export function consentPage(r: AuthorizationRequest, ticket: string, error?: string): string {
  const scopes = r.scopes
    .map((s) => `<li>${esc(SCOPE_TEXT[s] ?? `Act for you with the permission ${s} (only if you hold it)`)}</li>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Authorize ${esc(r.clientName)}</title><style>${STYLE}</style></head><body>
<h1>${esc(r.clientName)} wants to access your account</h1>
<p>It will be able to:</p><ul>${scopes}</ul>
<p>Sign in to decide. You are sent back to <code>${esc(new URL(r.redirectUri).origin)}</code>.</p>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="request" value="${esc(ticket)}">
<label>Email <input type="email" name="email" autocomplete="username" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<label>Two-factor code (if enabled) <input name="mfa_code" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form></body></html>`;
}

export function errorPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error</title><style>${STYLE}</style></head><body><h1>This authorization request cannot be completed</h1><p class="err">${esc(message)}</p></body></html>`;
}
