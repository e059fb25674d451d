import type { Context } from 'hono';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { AppError } from '../../lib/errors';
import { assertIfMatch } from '../../lib/etag';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute, permission } from '../../lib/route';
import { endpoint, type AuthedEnv } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { closeLiveSockets, sendSecurityNotice } from '../auth/security-events';
import { changingUsers, forgetUsers } from '../auth/user-state';
import { ceilingOf } from '../roles/ceilings';
import * as admin from './users-admin.service';
import * as roleGrants from './user-roles.service';
import './users.search';
import {
  AdminPatch,
  AdminUpdate,
  SelfPatch,
  SelfUpdate,
  UserGetQuery,
  UserIdParams,
  UserListQuery,
  UserPage,
  UserResponse,
  UserRoleParams,
} from './users.schemas';
import { loadProfiles, loadUserView, toUserView } from './users.service';

const notFound = { description: 'No such user, or not visible to the caller', schema: ErrorResponse };
const ceiling = { description: 'PERMISSION_CEILING: the user holds permissions the caller lacks', schema: ErrorResponse, codes: ['PERMISSION_CEILING' as const] };

const meRoute = defineRoute({
  method: 'get',
  path: '/me',
  summary: 'The signed-in user',
  tags: ['users'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'The caller', schema: UserResponse }, 401: { description: 'Not signed in', schema: ErrorResponse } },
});

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'List users (cursor pagination, filters)',
  tags: ['users'],
  access: permission('users:read'),
  request: { query: UserListQuery },
  responses: { 200: { description: 'A page of users, newest first', schema: UserPage } },
});

const getRoute = defineRoute({
  method: 'get',
  path: '/:id',
  summary: 'Read a user (the user itself, or users:read)',
  tags: ['users'],
  access: permission('users:read', 'id'),
  request: { params: UserIdParams, query: UserGetQuery },
  responses: { 200: { description: 'The user', schema: UserResponse }, 404: notFound },
});

const putRoute = defineRoute({
  method: 'put',
  path: '/:id',
  summary: 'Replace the editable fields of a user (self: fullName; users:write: also email, emailVerified)',
  tags: ['users'],
  ifMatch: true,
  access: permission('users:write', 'id'),
  request: { params: UserIdParams, body: AdminUpdate, ownerBody: SelfUpdate },
  responses: { 200: { description: 'The updated user', schema: UserResponse }, 403: ceiling, 404: notFound, 409: { description: 'EMAIL_TAKEN', schema: ErrorResponse, codes: ['EMAIL_TAKEN'] } },
});

const patchRoute = defineRoute({
  method: 'patch',
  path: '/:id',
  summary: 'Change some editable fields of a user',
  tags: ['users'],
  ifMatch: true,
  access: permission('users:write', 'id'),
  request: { params: UserIdParams, body: AdminPatch, ownerBody: SelfPatch },
  responses: { 200: { description: 'The updated user', schema: UserResponse }, 403: ceiling, 404: notFound, 409: { description: 'EMAIL_TAKEN', schema: ErrorResponse, codes: ['EMAIL_TAKEN'] } },
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: 'Soft-delete a user (the user itself, or users:delete); every session ends at once',
  tags: ['users'],
  ifMatch: true,
  access: permission('users:delete', 'id'),
  request: { params: UserIdParams },
  responses: { 204: NoContent, 403: ceiling, 404: notFound, 422: { description: 'The last admin cannot be deleted', schema: ErrorResponse } },
});

const restoreRoute = defineRoute({
  method: 'post',
  path: '/:id/restore',
  summary: 'Restore a soft-deleted user (sessions stay ended: the user signs in again)',
  tags: ['users'],
  access: permission('users:delete'),
  request: { params: UserIdParams },
  responses: { 200: { description: 'The restored user', schema: UserResponse }, 403: ceiling, 404: notFound },
});

const grantRoute = defineRoute({
  method: 'put',
  path: '/:id/roles/:roleId',
  summary: 'Grant a role (idempotent). Nobody changes their own roles.',
  tags: ['roles'],
  access: permission('roles:write'),
  request: { params: UserRoleParams },
  responses: { 200: { description: 'The user with its roles', schema: UserResponse }, 403: { description: 'FORBIDDEN: own roles; PERMISSION_CEILING: a role beyond the caller, the admin role, or a more privileged user', schema: ErrorResponse, codes: ['FORBIDDEN', 'PERMISSION_CEILING'] }, 404: notFound, 409: { description: 'CONFLICT: the role changed meanwhile; try again', schema: ErrorResponse, codes: ['CONFLICT'] } },
});

const revokeRoute = defineRoute({
  method: 'delete',
  path: '/:id/roles/:roleId',
  summary: 'Revoke a role; takes effect on the next request of every live token',
  tags: ['roles'],
  access: permission('roles:write'),
  request: { params: UserRoleParams },
  responses: { 204: NoContent, 403: { description: 'FORBIDDEN: own roles; PERMISSION_CEILING: a role beyond the caller, the admin role, or a more privileged user', schema: ErrorResponse, codes: ['FORBIDDEN', 'PERMISSION_CEILING'] }, 404: notFound, 422: { description: 'Last admin', schema: ErrorResponse } },
});

/**
 * PUT/PATCH /users/:id. An email change (holders of users:write only) also ended the user's
 * sessions and one-time tokens in its batch; here the old address is told and live sockets close.
 */
async function applyUpdate(c: Context<AuthedEnv>, id: string, changes: admin.UserChanges) {
  const auth = c.var.auth;
  const expected = await precondition(c, id);
  // Through the user's UserState object: profile, email and ended sessions show on the next request.
  const { user, emailChange } = await changingUsers(c.env, [id], () => admin.updateUser(c.var.db, ceilingOf(auth), id, changes, auth, expected));
  audit(c, { action: 'user.update', outcome: 'success', targetId: id, details: { fields: Object.keys(c.var.jsonBody as object) } });
  if (emailChange) {
    audit(c, { action: 'security.sessions_ended', outcome: 'success', targetId: id, details: { reason: 'email_changed_by_admin', sessions: emailChange.sessionsEnded } });
    const self = id === auth.userId;
    await afterResponse(
      c,
      'email change notice',
      Promise.all([
        sendSecurityNotice({ db: c.var.db, env: c.env }, { userId: id, email: emailChange.oldEmail, event: self ? 'email_changed' : 'email_changed_by_admin', userAgent: c.req.header('User-Agent') }),
        closeLiveSockets(c.env, id, self ? { except: auth.sessionId } : {}),
      ]),
    );
  }
  return user;
}

/**
 * If-Match on /users/:id: the tag of what GET /users/:id answers now (412 when stale); its
 * `updatedAt` then conditions the write itself, so a change in between is a 412 too.
 */
async function precondition(c: Context<AuthedEnv>, id: string): Promise<admin.Precondition | undefined> {
  const header = c.req.header('If-Match');
  if (header === undefined) return undefined;
  const current = await loadUserView(c.var.db, id);
  await assertIfMatch(header, current);
  return current ? { updatedAt: current.updatedAt } : undefined;
}

function refuseOwnRoles(c: Context<AuthedEnv>, userId: string) {
  if (userId === c.var.auth.userId) {
    audit(c, { action: 'authz.denied', outcome: 'failure', targetId: userId, details: { reason: 'own_roles' } });
    throw new AppError(403, 'FORBIDDEN', { message: 'You cannot change your own roles' });
  }
}

export const usersRoutes = factory
  .createApp()
  .get(meRoute.path, endpoint(meRoute), async (c) => {
    const auth = c.var.auth;
    // The session check (UserState) answered with the user row and the profile: no D1 read here
    // unless the profile row is missing (loadProfiles repairs it).
    if (auth.profile) return c.json(toUserView(auth.user, auth.profile.fullName));
    const fullName = (await loadProfiles(c.var.db, [auth.userId])).get(auth.userId) ?? null;
    await forgetUsers(c.env, [auth.userId]);
    return c.json(toUserView(auth.user, fullName));
  })
  .get(listRoute.path, endpoint(listRoute), async (c) => {
    return c.json(await admin.listUsers(c.var.db, c.req.valid('query')));
  })
  .get(getRoute.path, endpoint(getRoute), async (c) => {
    const { id } = c.req.valid('param');
    const includeDeleted = c.req.valid('query').includeDeleted === true && c.var.auth.permissions.has('users:read');
    const user = await loadUserView(c.var.db, id, { includeDeleted });
    if (!user) throw new AppError(404, 'NOT_FOUND');
    return c.json(user);
  })
  .put(putRoute.path, endpoint(putRoute), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(await applyUpdate(c, id, c.req.valid('json')));
  })
  .patch(patchRoute.path, endpoint(patchRoute), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(await applyUpdate(c, id, c.req.valid('json')));
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const { id } = c.req.valid('param');
    const expected = await precondition(c, id);
    await changingUsers(c.env, [id], () => admin.softDeleteUser(c.var.db, ceilingOf(c.var.auth), id, expected));
    audit(c, { action: 'user.delete', outcome: 'success', targetId: id });
    await afterResponse(c, 'closing live sockets', closeLiveSockets(c.env, id));
    return c.body(null, 204);
  })
  .post(restoreRoute.path, endpoint(restoreRoute), async (c) => {
    const { id } = c.req.valid('param');
    const user = await changingUsers(c.env, [id], () => admin.restoreUser(c.var.db, ceilingOf(c.var.auth), id));
    audit(c, { action: 'user.restore', outcome: 'success', targetId: id });
    return c.json(user);
  })
  .put(grantRoute.path, endpoint(grantRoute), async (c) => {
    const { id, roleId } = c.req.valid('param');
    refuseOwnRoles(c, id);
    const role = await changingUsers(c.env, [id], () => roleGrants.grantRole(c.var.db, ceilingOf(c.var.auth), id, roleId));
    audit(c, { action: 'role.grant', outcome: 'success', targetId: id, details: { role } });
    const user = await loadUserView(c.var.db, id);
    if (!user) throw new AppError(404, 'NOT_FOUND');
    return c.json(user);
  })
  .delete(revokeRoute.path, endpoint(revokeRoute), async (c) => {
    const { id, roleId } = c.req.valid('param');
    refuseOwnRoles(c, id);
    const role = await changingUsers(c.env, [id], () => roleGrants.revokeRole(c.var.db, ceilingOf(c.var.auth), id, roleId));
    audit(c, { action: 'role.revoke', outcome: 'success', targetId: id, details: { role } });
    return c.body(null, 204);
  });
