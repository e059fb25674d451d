import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as z from 'zod/mini';
import { and, eq, isNull } from 'drizzle-orm';
import { sessions, users } from '../../db/schema/auth';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { sha256Hex } from '../../lib/crypto';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { API_PREFIX, defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { ConsoleHandoverBody, ConsoleTokenResponse } from './auth.schemas';
import { refresh, type RefreshResult } from './refresh.service';
import type { AuthDeps } from './auth.service';
import { changingUsers } from './user-state';

/**
 * The admin console's refresh on reload (README "Admin console", threat model there). The
 * console signs in through the ordinary JSON routes (password, two-factor, passkey), then hands
 * its fresh refresh token over once: it is rotated at once (so the copy the page's script saw is
 * spent) and the child lives only in an HttpOnly, Secure, SameSite=Strict cookie scoped to this
 * router's path. Every call needs the custom header and a same-origin `Origin` (CSRF), and the
 * cookie rotates through the same `refresh()` as the JSON route: a replayed cookie revokes the
 * family. The JSON `POST /auth/refresh` never reads cookies.
 */

export const CONSOLE_COOKIE = '__Secure-ubr_console';
export const CONSOLE_PATH = `${API_PREFIX}/auth/console`;
export const CONSOLE_HEADER = 'X-Console-Request';

const refused = { description: 'FORBIDDEN: the X-Console-Request header is missing, or Origin is not this API’s own origin', schema: ErrorResponse, codes: ['FORBIDDEN' as const] };
const invalid = { description: 'INVALID_REFRESH_TOKEN (the cookie is cleared); a spent one also revokes its whole family', schema: ErrorResponse, codes: ['INVALID_REFRESH_TOKEN' as const] };

const handoverRoute = defineRoute({
  method: 'post',
  path: '/session',
  summary: 'Admin console: trade a fresh refresh token for an HttpOnly refresh cookie (and an access token)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  request: { body: ConsoleHandoverBody },
  responses: { 200: { description: 'The token is rotated; its child is in the cookie only', schema: ConsoleTokenResponse }, 401: invalid, 403: refused },
});

const refreshRoute = defineRoute({
  method: 'post',
  path: '/refresh',
  summary: 'Admin console: rotate the refresh cookie for a new access token (on reload)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  responses: { 200: { description: 'A new access token; the cookie rotated', schema: ConsoleTokenResponse }, 401: invalid, 403: refused },
});

const logoutRoute = defineRoute({
  method: 'post',
  path: '/logout',
  summary: 'Admin console: end the session of the refresh cookie and clear it',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  responses: { 204: NoContent, 403: refused },
});

const deps = (c: Context): AuthDeps => ({ db: c.var.db, env: c.env, config: getConfig(c.env) });

/** CSRF defence: a custom header (a cross-site form or fetch cannot send it without a preflight we never grant) and a same-origin Origin. */
function requireConsoleRequest(c: Context): void {
  const origin = c.req.header('Origin');
  const site = c.req.header('Sec-Fetch-Site');
  const reason =
    c.req.header(CONSOLE_HEADER) !== '1' ? 'console_header_missing' : origin !== new URL(c.req.url).origin ? 'console_origin' : site !== undefined && site !== 'same-origin' ? 'console_fetch_site' : null;
  if (reason === null) return;
  audit(c, { action: 'authz.denied', outcome: 'failure', level: 'warn', details: { reason } });
  throw new AppError(403, 'FORBIDDEN', { message: 'Not a console request' });
}

function setConsoleCookie(c: Context, token: string): void {
  setCookie(c, CONSOLE_COOKIE, token, {
    path: CONSOLE_PATH,
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    maxAge: Math.floor(getConfig(c.env).sessionIdleTtlMs / 1000),
  });
}

const clearConsoleCookie = (c: Context) => deleteCookie(c, CONSOLE_COOKIE, { path: CONSOLE_PATH, secure: true, httpOnly: true, sameSite: 'Strict' });

/** The rotation's answer: the child goes into the cookie, the body carries no refresh token. */
function answer(c: Context, result: RefreshResult) {
  if (!result.ok) {
    if (result.reuse) audit(c, { action: 'auth.refresh_reuse', outcome: 'failure', level: 'warn', targetId: result.userId, details: { sessionId: result.sessionId, via: 'console' } });
    clearConsoleCookie(c);
    throw new AppError(401, 'INVALID_REFRESH_TOKEN');
  }
  const { refreshToken, deviceToken: _device, ...rest } = result.pair;
  setConsoleCookie(c, refreshToken);
  return c.json(rest, 200);
}

export const consoleSessionRoutes = factory
  .createApp()
  .post(handoverRoute.path, endpoint(handoverRoute), async (c) => {
    requireConsoleRequest(c);
    const result = await refresh(deps(c), c.req.valid('json').refreshToken);
    if (result.ok) audit(c, { action: 'auth.console_session', outcome: 'success', actorId: result.userId, targetId: result.userId, details: { sessionId: result.sessionId } });
    return answer(c, result);
  })
  .post(refreshRoute.path, endpoint(refreshRoute), async (c) => {
    requireConsoleRequest(c);
    const token = getCookie(c, CONSOLE_COOKIE);
    if (token === undefined || !z.string().check(z.maxLength(256)).safeParse(token).success) {
      clearConsoleCookie(c);
      throw new AppError(401, 'INVALID_REFRESH_TOKEN');
    }
    return answer(c, await refresh(deps(c), token));
  })
  .post(logoutRoute.path, endpoint(logoutRoute), async (c) => {
    requireConsoleRequest(c);
    const token = getCookie(c, CONSOLE_COOKIE);
    clearConsoleCookie(c);
    if (token !== undefined && token.length <= 256) {
      // Only the session whose current token this is: a stale cookie ends nothing. The owner's
      // UserState is held around the write, so the very next request with the session's access
      // token is refused (the same commit point as POST /auth/logout).
      const live = and(eq(sessions.publicId, token.split('.')[0] ?? ''), eq(sessions.refreshHash, await sha256Hex(token)), isNull(sessions.revokedAt));
      const owner = await c.var.db.auth.select({ publicId: users.publicId }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(live).get();
      const ended = owner
        ? await changingUsers(c.env, [owner.publicId], () =>
            c.var.db.auth.update(sessions).set({ revokedAt: new Date(), revokedReason: 'logout' }).where(live).returning({ publicId: sessions.publicId }),
          )
        : [];
      if (ended[0]) audit(c, { action: 'auth.logout', outcome: 'success', details: { sessionId: ended[0].publicId, via: 'console' } });
    }
    return c.body(null, 204);
  });
