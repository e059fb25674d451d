import type { Context, TypedResponse } from 'hono';
import type { JSONParsed } from 'hono/utils/types';
import { afterResponse } from './after-response';
import { strongEtag } from './etag';
import type { AppEnv } from './factory';
import { log } from './log';
import { fullPath, type RouteSpec } from './route';

/**
 * Cache-Control of the public documents served through the edge cache. `max-age` is what a
 * browser or CDN in front keeps; the Cache API keeps the same (it honours max-age, not
 * stale-while-revalidate, which is for the caches in front).
 */
export const EDGE_CACHE_CONTROL = {
  /** JWKS and OpenAPI: the cache key carries their version, so a change never reads an old entry here. */
  versioned: 'public, max-age=300, stale-while-revalidate=3600',
  /** Client-version policy: purged in the data center that changed it; elsewhere within a minute. */
  purged: 'public, max-age=60, stale-while-revalidate=300',
} as const;

/** The Cache API key: this deployment's origin, the route's mounted path, the document's version. */
function cacheKey(c: Context, route: RouteSpec, version: string): Request {
  return new Request(`${new URL(c.req.url).origin}${fullPath(route)}?v=${encodeURIComponent(version)}`);
}

interface EdgeCacheOptions {
  /** The route the document is served at (one entry per route, whatever the trailing slash or query). */
  route: RouteSpec;
  /** Part of the key: a new version is a new entry (key set, release). */
  version: string;
  cacheControl: string;
}

/**
 * A public JSON document served from `caches.default` (the data center's cache), built by
 * `load` on a miss and stored after the response. The stored copy holds the body, its type,
 * Cache-Control and ETag only: per-request headers (request id, CORS, rate limits, bookmark)
 * are the live request's. A cache that fails is a miss, never an error.
 * @example return edgeCachedJson(c, { route: jwksRoute, version: kids, cacheControl: EDGE_CACHE_CONTROL.versioned }, () => ({ keys }))
 */
export async function edgeCachedJson<T, E extends AppEnv = AppEnv>(c: Context<E>, options: EdgeCacheOptions, load: () => T | Promise<T>): Promise<Response & TypedResponse<JSONParsed<T>, 200, 'json'>> {
  const key = cacheKey(c, options.route, options.version);
  const typed = (res: Response) => res as Response & TypedResponse<JSONParsed<T>, 200, 'json'>;
  const hit = await caches.default.match(key).catch((err: unknown) => log('warn', 'edge cache read failed', { error: String(err) }));
  if (hit) {
    return typed(c.body(await hit.text(), 200, { 'Content-Type': 'application/json', 'Cache-Control': options.cacheControl, ETag: hit.headers.get('ETag') ?? '', 'X-Edge-Cache': 'HIT' }));
  }
  const body = JSON.stringify(await load());
  const etag = await strongEtag(body);
  const stored = new Response(body, { headers: { 'Content-Type': 'application/json', 'Cache-Control': options.cacheControl, ETag: etag } });
  await afterResponse(c, 'edge cache write', caches.default.put(key, stored));
  return typed(c.body(body, 200, { 'Content-Type': 'application/json', 'Cache-Control': options.cacheControl, ETag: etag, 'X-Edge-Cache': 'MISS' }));
}

/**
 * Drops a document from this data center's cache after it changed. Other data centers keep
 * theirs until max-age runs out (the Cache API has no global purge; the zone purge API would).
 */
export async function purgeEdgeCache<E extends AppEnv>(c: Context<E>, route: RouteSpec, version: string): Promise<void> {
  await caches.default.delete(cacheKey(c, route, version)).catch((err: unknown) => log('warn', 'edge cache purge failed', { error: String(err) }));
}
