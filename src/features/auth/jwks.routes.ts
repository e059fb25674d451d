import * as z from 'zod/mini';
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
  c.header('Cache-Control', 'public, max-age=300');
  return c.json({ keys: ring.publicJwks });
});
