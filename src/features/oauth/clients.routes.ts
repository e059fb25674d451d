import { audit } from '../../lib/audit';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import * as service from './clients.service';
import { ClientCreateBody, ClientList, ClientResponse, ClientSecretResponse, ClientWithSecret, GrantList, IdParams } from './oauth.schemas';

/** /api/v1/oauth: the admin client registry and the user's authorized apps (JSON, the API's envelope). */

const tags = ['oauth'];
const notFound = { description: 'No such client', schema: ErrorResponse };

const createRoute = defineRoute({
  method: 'post',
  path: '/clients',
  summary: 'Register an OAuth client (confidential: the secret is shown once; public: PKCE only, no secret)',
  tags,
  access: permission('oauth:write'),
  request: { body: ClientCreateBody },
  responses: { 201: { description: 'The client, with its secret when confidential', schema: ClientWithSecret } },
});
const listRoute = defineRoute({
  method: 'get',
  path: '/clients',
  summary: 'Registered OAuth clients',
  tags,
  access: permission('oauth:read'),
  responses: { 200: { description: 'Clients (never their secrets)', schema: ClientList } },
});
const getRoute = defineRoute({
  method: 'get',
  path: '/clients/:id',
  summary: 'One OAuth client',
  tags,
  access: permission('oauth:read'),
  request: { params: IdParams },
  responses: { 200: { description: 'The client', schema: ClientResponse }, 404: notFound },
});
const rotateRoute = defineRoute({
  method: 'post',
  path: '/clients/:id/rotate-secret',
  summary: 'Rotate a confidential client secret (the old one stops at once)',
  tags,
  access: permission('oauth:write'),
  request: { params: IdParams },
  responses: {
    200: { description: 'The new secret, shown once', schema: ClientSecretResponse },
    404: notFound,
    422: { description: 'A public client has no secret', schema: ErrorResponse, codes: ['OAUTH_CLIENT_PUBLIC' as const] },
  },
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/clients/:id',
  summary: 'Delete an OAuth client: every token it holds stops at once',
  tags,
  access: permission('oauth:write'),
  request: { params: IdParams },
  responses: { 204: NoContent, 404: notFound },
});
const grantsRoute = defineRoute({
  method: 'get',
  path: '/grants',
  summary: 'The apps the caller authorized, with the scopes granted',
  tags,
  access: AUTHENTICATED,
  responses: { 200: { description: 'Grants', schema: GrantList } },
});
const revokeGrantRoute = defineRoute({
  method: 'delete',
  path: '/grants/:id',
  summary: "Revoke an app's access: its tokens stop at once",
  tags,
  access: AUTHENTICATED,
  request: { params: IdParams },
  responses: { 204: NoContent, 404: { description: 'No such grant of the caller', schema: ErrorResponse } },
});

export const oauthApiRoutes = factory
  .createApp()
  .post(createRoute.path, endpoint(createRoute), async (c) => {
    const created = await service.createClient(c.var.db, c.req.valid('json'), c.var.auth.userInternalId);
    audit(c, { action: 'oauth.client_create', outcome: 'success', targetId: created.id, details: { type: created.type, scopes: created.scopes } });
    return c.json(created, 201);
  })
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await service.listClients(c.var.db) }))
  .get(getRoute.path, endpoint(getRoute), async (c) => c.json(await service.getClient(c.var.db, c.req.valid('param').id)))
  .post(rotateRoute.path, endpoint(rotateRoute), async (c) => {
    const { id } = c.req.valid('param');
    const clientSecret = await service.rotateSecret(c.var.db, id);
    audit(c, { action: 'oauth.client_rotate', outcome: 'success', targetId: id });
    return c.json({ clientSecret });
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const { id } = c.req.valid('param');
    await service.deleteClient(c.var.db, id);
    audit(c, { action: 'oauth.client_delete', outcome: 'success', targetId: id });
    return c.body(null, 204);
  })
  .get(grantsRoute.path, endpoint(grantsRoute), async (c) => c.json({ data: await service.listGrants(c.var.db, c.var.auth.userInternalId) }))
  .delete(revokeGrantRoute.path, endpoint(revokeGrantRoute), async (c) => {
    const { id } = c.req.valid('param');
    await service.revokeGrant(c.var.db, c.var.auth.userInternalId, id);
    audit(c, { action: 'oauth.grant_revoke', outcome: 'success', targetId: id });
    return c.body(null, 204);
  });
