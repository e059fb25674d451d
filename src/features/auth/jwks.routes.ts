import * as z from 'zod/mini';
import { EDGE_CACHE_CONTROL, edgeCachedJson } from '../../lib/edge-cache';
import { factory } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { getKeyRing } from '../../security/jwt';

const JwksResponse = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

const jwksRoute = defineRoute({
  method: 'get',
  path: '/jwks.json',
  summary: 'Public keys that verify access tokens (current and, during a rotation, previous)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'none',
  responses: { 200: { description: 'JSON Web Key Set', schema: JwksResponse } },
});

export const jwksRoutes = factory.createApp().get(jwksRoute.path, endpoint(jwksRoute), async (c) => {
  const ring = await getKeyRing(c.env.JWT_SIGNING_KEYS);
  // The cache key is the key set itself: after a rotation (a deploy) no data center serves the old set.
  const version = ring.publicJwks.map((k) => `${k.kid}.${k.x}`).join(',');
  return edgeCachedJson(c, { route: jwksRoute, version, cacheControl: EDGE_CACHE_CONTROL.versioned }, () => ({ keys: ring.publicJwks }));
});
