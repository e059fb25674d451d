import type { Context } from 'hono';
import { audit } from '../../lib/audit';
import { factory, type AppEnv } from '../../lib/factory';
import { defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import {
  DeliveriesQuery,
  DeliveryIdParams,
  DeliveryPage,
  EndpointCreateBody,
  EndpointIdParams,
  EndpointList,
  EndpointResponse,
  EndpointUpdateBody,
  EndpointWithSecret,
  ReplayResponse,
  RotatedSecret,
} from './webhooks-out.schemas';
import * as service from './webhooks-out.service';

const tags = ['webhooks'];
const notFound = { description: 'No such endpoint', schema: ErrorResponse };
const refused = { description: 'WEBHOOK_URL_REFUSED: not https, or a loopback, private, link-local or internal target', schema: ErrorResponse, codes: ['WEBHOOK_URL_REFUSED' as const] };

const createRoute = defineRoute({
  method: 'post',
  path: '/endpoints',
  summary: 'Subscribe a URL to webhook event types (the signing secret is shown once)',
  tags,
  access: permission('webhooks:write'),
  request: { body: EndpointCreateBody },
  responses: { 201: { description: 'The endpoint and its secret', schema: EndpointWithSecret }, 422: refused },
});
const listRoute = defineRoute({
  method: 'get',
  path: '/endpoints',
  summary: 'List webhook endpoints',
  tags,
  access: permission('webhooks:read'),
  responses: { 200: { description: 'Every endpoint (without secrets)', schema: EndpointList } },
});
const getRoute = defineRoute({
  method: 'get',
  path: '/endpoints/:id',
  summary: 'Read a webhook endpoint',
  tags,
  access: permission('webhooks:read'),
  request: { params: EndpointIdParams },
  responses: { 200: { description: 'The endpoint', schema: EndpointResponse }, 404: notFound },
});
const patchRoute = defineRoute({
  method: 'patch',
  path: '/endpoints/:id',
  summary: 'Change a webhook endpoint; status "active" resumes a paused one',
  tags,
  access: permission('webhooks:write'),
  request: { params: EndpointIdParams, body: EndpointUpdateBody },
  responses: { 200: { description: 'The endpoint', schema: EndpointResponse }, 404: notFound, 422: refused },
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/endpoints/:id',
  summary: 'Delete a webhook endpoint and its delivery log',
  tags,
  access: permission('webhooks:write'),
  request: { params: EndpointIdParams },
  responses: { 204: NoContent, 404: notFound },
});
const rotateRoute = defineRoute({
  method: 'post',
  path: '/endpoints/:id/rotate-secret',
  summary: 'Rotate the signing secret (the previous one keeps signing for 24 h)',
  tags,
  access: permission('webhooks:write'),
  request: { params: EndpointIdParams },
  responses: { 200: { description: 'The new secret, shown once', schema: RotatedSecret }, 404: notFound },
});
const deliveriesRoute = defineRoute({
  method: 'get',
  path: '/endpoints/:id/deliveries',
  summary: 'Deliveries of an endpoint, newest first, with each attempt (status, duration, first KiB of the answer)',
  tags,
  access: permission('webhooks:read'),
  request: { params: EndpointIdParams, query: DeliveriesQuery },
  responses: { 200: { description: 'A page of deliveries', schema: DeliveryPage }, 404: notFound },
});
const replayRoute = defineRoute({
  method: 'post',
  path: '/deliveries/:id/replay',
  summary: 'Send a delivery again (same webhook-id, new timestamp and signature)',
  tags,
  access: permission('webhooks:write'),
  request: { params: DeliveryIdParams },
  responses: { 202: { description: 'Queued', schema: ReplayResponse }, 404: { description: 'No such delivery', schema: ErrorResponse } },
});

const deps = <E extends AppEnv>(c: Context<E>): service.WebhooksDeps => ({ db: c.var.db, env: c.env });

export const webhooksOutRoutes = factory
  .createApp()
  .post(createRoute.path, endpoint(createRoute), async (c) => {
    const created = await service.createEndpoint(deps(c), c.req.valid('json'));
    audit(c, { action: 'webhook.endpoint_create', outcome: 'success', targetId: created.id, details: { host: new URL(created.url).host, eventTypes: created.eventTypes } });
    return c.json(created, 201);
  })
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await service.listEndpoints(c.var.db) }))
  .get(getRoute.path, endpoint(getRoute), async (c) => c.json(await service.getEndpoint(c.var.db, c.req.valid('param').id)))
  .patch(patchRoute.path, endpoint(patchRoute), async (c) => {
    const body = c.req.valid('json');
    const updated = await service.updateEndpoint(deps(c), c.req.valid('param').id, body);
    audit(c, { action: 'webhook.endpoint_update', outcome: 'success', targetId: updated.id, details: { fields: Object.keys(body), status: updated.status } });
    return c.json(updated);
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const { id } = c.req.valid('param');
    await service.deleteEndpoint(c.var.db, id);
    audit(c, { action: 'webhook.endpoint_delete', outcome: 'success', targetId: id });
    return c.body(null, 204);
  })
  .post(rotateRoute.path, endpoint(rotateRoute), async (c) => {
    const { id } = c.req.valid('param');
    const rotated = await service.rotateSecret(deps(c), id);
    audit(c, { action: 'webhook.secret_rotate', outcome: 'success', targetId: id });
    return c.json(rotated);
  })
  .get(deliveriesRoute.path, endpoint(deliveriesRoute), async (c) => {
    const { limit, cursor } = c.req.valid('query');
    return c.json(await service.listDeliveries(c.var.db, c.req.valid('param').id, { limit, cursor }));
  })
  .post(replayRoute.path, endpoint(replayRoute), async (c) => {
    const replayed = await service.replayDelivery(deps(c), c.req.valid('param').id);
    audit(c, { action: 'webhook.replay', outcome: 'success', targetId: replayed.id, details: { endpointId: replayed.endpointId } });
    return c.json({ id: replayed.id, status: 'pending' as const }, 202);
  });
