import { changingUsers, roleHolders } from '../auth/user-state';
import { audit } from '../../lib/audit';
import { factory } from '../../lib/factory';
import { defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { RoleCreateBody, RoleIdParams, RoleList, RoleResponse, RoleUpdateBody } from './roles.schemas';
import { ceilingOf } from './ceilings';
import * as service from './roles.service';

const notFound = { description: 'No such role', schema: ErrorResponse };
const conflict = { description: 'A role with this name already exists', schema: ErrorResponse };
const ceiling = { description: 'PERMISSION_CEILING: a permission the caller lacks, a role the caller holds, or the admin role', schema: ErrorResponse, codes: ['PERMISSION_CEILING' as const] };

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'List roles with their permissions',
  tags: ['roles'],
  access: permission('roles:read'),
  responses: { 200: { description: 'Every role', schema: RoleList } },
});
const createRoute = defineRoute({
  method: 'post',
  path: '/',
  idempotent: true,
  summary: 'Create a role',
  tags: ['roles'],
  access: permission('roles:write'),
  request: { body: RoleCreateBody },
  responses: { 201: { description: 'The new role', schema: RoleResponse }, 403: ceiling, 409: conflict },
});
const getRoute = defineRoute({
  method: 'get',
  path: '/:id',
  summary: 'Read a role',
  tags: ['roles'],
  access: permission('roles:read'),
  request: { params: RoleIdParams },
  responses: { 200: { description: 'The role', schema: RoleResponse }, 404: notFound },
});
const putRoute = defineRoute({
  method: 'put',
  path: '/:id',
  summary: 'Replace a role (built-in roles keep their names; admin keeps every permission)',
  tags: ['roles'],
  access: permission('roles:write'),
  request: { params: RoleIdParams, body: RoleUpdateBody },
  responses: { 200: { description: 'The updated role', schema: RoleResponse }, 403: ceiling, 404: notFound, 409: conflict, 422: { description: 'Built-in rule', schema: ErrorResponse } },
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: 'Delete a role (not a built-in one)',
  tags: ['roles'],
  access: permission('roles:write'),
  request: { params: RoleIdParams },
  responses: { 204: NoContent, 403: ceiling, 404: notFound, 422: { description: 'Built-in roles cannot be deleted', schema: ErrorResponse } },
});

export const rolesRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await service.listRoles(c.var.db) }))
  .post(createRoute.path, endpoint(createRoute), async (c) => {
    const role = await service.createRole(c.var.db, ceilingOf(c.var.auth), c.req.valid('json'));
    audit(c, { action: 'role.create', outcome: 'success', targetId: role.id, details: { name: role.name, permissions: role.permissions } });
    return c.json(role, 201);
  })
  .get(getRoute.path, endpoint(getRoute), async (c) => c.json(await service.getRole(c.var.db, c.req.valid('param').id)))
  .put(putRoute.path, endpoint(putRoute), async (c) => {
    const { id } = c.req.valid('param');
    // Every holder's answer changes (permissions, role name): through each holder's UserState object.
    const role = await changingUsers(c.env, await roleHolders(c.var.db, id), () => service.updateRole(c.var.db, ceilingOf(c.var.auth), id, c.req.valid('json')));
    audit(c, { action: 'role.update', outcome: 'success', targetId: role.id, details: { name: role.name, permissions: role.permissions } });
    return c.json(role);
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const { id } = c.req.valid('param');
    const name = await changingUsers(c.env, await roleHolders(c.var.db, id), () => service.deleteRole(c.var.db, ceilingOf(c.var.auth), id));
    audit(c, { action: 'role.delete', outcome: 'success', targetId: id, details: { name } });
    return c.body(null, 204);
  });
