import { EDGE_CACHE_CONTROL, edgeCachedJson, purgeEdgeCache } from '../../lib/edge-cache';
import { factory } from '../../lib/factory';
import { defineRoute, permission, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { PlatformParams, PolicyBody, PolicyList, PolicyResponse } from './client-versions.schemas';
import * as service from './client-versions.service';

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Client version policy per platform (minimum supported, latest); never answers 426',
  tags: ['client-versions'],
  access: PUBLIC,
  responses: { 200: { description: 'Policies', schema: PolicyList } },
});
const putRoute = defineRoute({
  method: 'put',
  path: '/:platform',
  summary: 'Set the policy of a platform',
  tags: ['client-versions'],
  access: permission('config:write'),
  request: { params: PlatformParams, body: PolicyBody },
  responses: { 200: { description: 'The policy', schema: PolicyResponse }, 422: { description: 'BUSINESS_RULE: a new platform beyond the 100 that may have a policy', schema: ErrorResponse } },
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/:platform',
  summary: 'Remove the policy of a platform',
  tags: ['client-versions'],
  access: permission('config:write'),
  request: { params: PlatformParams },
  responses: { 204: NoContent, 404: { description: 'No policy for this platform', schema: ErrorResponse } },
});

/** The list is one edge-cache entry, purged by every change. */
const LIST_VERSION = '1';

export const clientVersionsRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) =>
    edgeCachedJson(c, { route: listRoute, version: LIST_VERSION, cacheControl: EDGE_CACHE_CONTROL.purged }, async () => ({ data: await service.listPolicies(c.var.db) })),
  )
  .put(putRoute.path, endpoint(putRoute), async (c) => {
    const policy = await service.putPolicy(c.var.db, c.env.CACHE, c.req.valid('param').platform, c.req.valid('json'));
    await purgeEdgeCache(c, listRoute, LIST_VERSION);
    return c.json(policy);
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    await service.deletePolicy(c.var.db, c.env.CACHE, c.req.valid('param').platform);
    await purgeEdgeCache(c, listRoute, LIST_VERSION);
    return c.body(null, 204);
  });
