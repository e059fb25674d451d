import { createMiddleware } from 'hono/factory';
import { noneMatch, strongEtag } from '../lib/etag';
import type { AppEnv } from '../lib/factory';

/** The credentials a response can depend on: a shared cache keys on them, never mixing callers. */
const VARY = ['Authorization', 'X-API-Key'];

/**
 * Conditional GETs (SPEC "Edge API semantics"): every 200 JSON answer to a GET or HEAD gets a
 * strong `ETag` (the hash of its body, unless the handler set one) and `Vary: Authorization,
 * X-API-Key`; when `If-None-Match` matches it (a list of tags, weak or strong, or `*`) the answer
 * is 304 with no body, the same ETag and every other header of the 200. The handler still runs
 * (the tag is the body's hash): a 304 saves the transfer and the client's parsing, not the
 * read. Streams (SSE, WebSocket upgrades) are never buffered: only `application/json` is hashed.
 * Route specs need not declare 304: `answersNotModified(spec)` derives it for OpenAPI and tests.
 * @example app.use(conditionalGet())
 */
export const conditionalGet = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    await next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return;
    const res = c.res;
    if (res.status !== 200 || !(res.headers.get('Content-Type') ?? '').startsWith('application/json')) return;
    const given = res.headers.get('ETag');
    const body = given ? res.body : await res.arrayBuffer();
    const etag = given ?? (await strongEtag(body as ArrayBuffer));
    const headers = new Headers(res.headers);
    headers.set('ETag', etag);
    const vary = (headers.get('Vary') ?? '').split(',').map((v) => v.trim()).filter(Boolean);
    headers.set('Vary', [...new Set([...vary, ...VARY])].join(', '));
    c.res = undefined;
    if (!noneMatch(c.req.header('If-None-Match'), etag)) {
      c.res = new Response(body, { status: 200, headers });
      return;
    }
    if (given) await res.body?.cancel();
    headers.delete('Content-Type');
    headers.delete('Content-Length');
    c.res = new Response(null, { status: 304, headers });
  });
