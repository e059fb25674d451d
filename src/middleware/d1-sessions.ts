import { createMiddleware } from 'hono/factory';
import { createSessionDatabases } from '../db/client';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';

export const BOOKMARK_HEADER = 'X-D1-Bookmark';

/** A D1 bookmark: four dash-separated hex fields (`00000085-0000024c-00004c6d-8e61…`), sortable. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;
type Part = 'auth' | 'app';

/**
 * `auth:<bookmark>,app:<bookmark>` (either part may be missing), as this API sends it. Anything
 * else is a 400: a client that mangles the value would otherwise silently lose read-your-writes.
 */
export function parseBookmarks(header: string | undefined): Partial<Record<Part, string>> {
  if (header === undefined || header.trim() === '') return {};
  const out: Partial<Record<Part, string>> = {};
  for (const item of header.split(',')) {
    const [name, value, extra] = item.trim().split(':');
    if ((name !== 'auth' && name !== 'app') || !value || extra !== undefined || !BOOKMARK.test(value) || out[name]) {
      throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: BOOKMARK_HEADER, message: 'X-D1-Bookmark must be sent back exactly as a response gave it: auth:<bookmark>,app:<bookmark>' }] });
    }
    out[name] = value;
  }
  return out;
}

/**
 * D1 read replication through the Sessions API, for /api routes (SPEC "Edge API semantics").
 * Replaces `c.var.db` with clients whose AUTH_DB and APP_DB queries run in a D1 session:
 * - GET/HEAD (read-only): at the bookmark the client sent back, else `first-unconstrained`
 *   (the nearest replica);
 * - any other method: `first-primary` (the primary is at least as fresh as any bookmark).
 * Every response carries `X-D1-Bookmark` with the newest bookmark of each database the request
 * touched (the one it sent, for a database it did not touch): sending it back reads at least
 * that fresh, so a client reads its own writes from any location.
 * The session and permission check (auth guard, API keys) reads `env.AUTH_DB` directly, outside
 * any session, which D1 always routes to the primary: revocation stays immediate.
 * @example app.use('/api/*', d1Sessions())
 */
export const d1Sessions = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const sent = parseBookmarks(c.req.header(BOOKMARK_HEADER));
    const readOnly = c.req.method === 'GET' || c.req.method === 'HEAD';
    const start = (part: Part) => (readOnly ? (sent[part] ?? 'first-unconstrained') : 'first-primary');
    const sessions = createSessionDatabases(c.env, { auth: start('auth'), app: start('app') });
    c.set('db', sessions.db);
    await next();
    const seen = sessions.bookmarks();
    const auth = seen.auth ?? sent.auth;
    const app = seen.app ?? sent.app;
    const value = [auth && `auth:${auth}`, app && `app:${app}`].filter(Boolean).join(',');
    // A WebSocket upgrade (101) is passed through untouched.
    if (value && c.res.status !== 101) c.res.headers.set(BOOKMARK_HEADER, value);
  });
