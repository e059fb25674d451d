import { audit } from '../../lib/audit';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeyIdParams, ApiKeyList } from './api-keys.schemas';
import * as service from './api-keys.service';

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: "List the caller's active API keys (never the secret)",
  tags: ['api-keys'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Active keys', schema: ApiKeyList } },
});
const createRoute = defineRoute({
  method: 'post',
  path: '/',
  idempotent: true,
  summary: 'Create an API key scoped to permissions the caller holds; the key is shown once',
  tags: ['api-keys'],
  access: AUTHENTICATED,
  request: { body: ApiKeyCreateBody },
  responses: {
    201: { description: 'The key, with its secret (only now)', schema: ApiKeyCreated },
    403: { description: 'Permission not held', schema: ErrorResponse },
    422: { description: 'BUSINESS_RULE: the caller already has 20 active keys', schema: ErrorResponse, codes: ['BUSINESS_RULE'] },
  },
});
const rotateRoute = defineRoute({
  method: 'post',
  path: '/:id/rotate',
  idempotent: true,
  summary: 'Rotate a key: a new secret with the same scope; the old key stops at once',
  tags: ['api-keys'],
  access: AUTHENTICATED,
  request: { params: ApiKeyIdParams },
  responses: { 201: { description: 'The new key (shown once)', schema: ApiKeyCreated }, 404: { description: 'No such active key of the caller', schema: ErrorResponse } },
});
const revokeRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: 'Revoke a key',
  tags: ['api-keys'],
  access: AUTHENTICATED,
  request: { params: ApiKeyIdParams },
  responses: { 204: NoContent, 404: { description: 'No such active key of the caller', schema: ErrorResponse } },
});

export const apiKeysRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await service.listKeys(c.var.db, c.var.auth.userInternalId) }))
  .post(createRoute.path, endpoint(createRoute), async (c) => {
    const created = await service.createKey(c.var.db, c.var.auth, c.req.valid('json'));
    audit(c, { action: 'apikey.create', outcome: 'success', targetId: created.id, details: { prefix: created.prefix, permissions: created.permissions } });
    return c.json(created, 201);
  })
  .post(rotateRoute.path, endpoint(rotateRoute), async (c) => {
    const { id } = c.req.valid('param');
    const created = await service.rotateKey(c.var.db, c.var.auth, id);
    audit(c, { action: 'apikey.rotate', outcome: 'success', targetId: created.id, details: { previous: id, prefix: created.prefix } });
    return c.json(created, 201);
  })
  .delete(revokeRoute.path, endpoint(revokeRoute), async (c) => {
    const { id } = c.req.valid('param');
    await service.revokeKey(c.var.db, c.var.auth.userInternalId, id);
    audit(c, { action: 'apikey.revoke', outcome: 'success', targetId: id });
    return c.body(null, 204);
  });
