import { changingUsers } from '../auth/user-state';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { factory } from '../../lib/factory';
import { defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { closeLiveSockets } from '../auth/security-events';
import { ErrorResponse } from '../docs/common.schemas';
import { IdentityListResponse } from '../oauth-login/oauth-login.schemas';
import { ceilingOf } from '../roles/ceilings';
import { ApiKeyList } from '../api-keys/api-keys.schemas';
import { revokeUserSessions, userApiKeys, userIdentities, userSessions } from './user-sessions.service';
import { AdminSessionListResponse, SessionsEndedResponse, UserIdParams } from './users.schemas';

const notFound = { description: 'No such live user', schema: ErrorResponse };

const listSessionsRoute = defineRoute({
  method: 'get',
  path: '/:id/sessions',
  summary: "A user's live sessions (operators with users:read)",
  tags: ['users'],
  access: permission('users:read'),
  request: { params: UserIdParams },
  responses: { 200: { description: 'Live sessions, newest first (at most 100)', schema: AdminSessionListResponse }, 404: notFound },
});

const revokeSessionsRoute = defineRoute({
  method: 'delete',
  path: '/:id/sessions',
  summary: "End every session of a user (users:write, within the caller's permissions); access tokens stop at once",
  tags: ['users'],
  access: permission('users:write'),
  request: { params: UserIdParams },
  responses: {
    200: { description: 'How many sessions ended', schema: SessionsEndedResponse },
    403: { description: 'PERMISSION_CEILING: the user holds permissions the caller lacks', schema: ErrorResponse, codes: ['PERMISSION_CEILING'] },
    404: notFound,
  },
});

const listIdentitiesRoute = defineRoute({
  method: 'get',
  path: '/:id/identities',
  summary: "A user's social sign-in identities (operators with users:read)",
  tags: ['users'],
  access: permission('users:read'),
  request: { params: UserIdParams },
  responses: { 200: { description: 'Identities', schema: IdentityListResponse }, 404: notFound },
});

const listApiKeysRoute = defineRoute({
  method: 'get',
  path: '/:id/api-keys',
  summary: "A user's live API keys (operators with users:read): prefix, permissions, dates; never the secret",
  tags: ['users'],
  access: permission('users:read'),
  request: { params: UserIdParams },
  responses: { 200: { description: 'Live API keys, newest first', schema: ApiKeyList }, 404: notFound },
});

export const userSessionsRoutes = factory
  .createApp()
  .get(listSessionsRoute.path, endpoint(listSessionsRoute), async (c) => c.json({ data: await userSessions(c.var.db, c.req.valid('param').id) }, 200))
  .delete(revokeSessionsRoute.path, endpoint(revokeSessionsRoute), async (c) => {
    const { id } = c.req.valid('param');
    // Held in the user's UserState around the write: the next request with any of them is refused.
    const ended = await changingUsers(c.env, [id], () => revokeUserSessions(c.var.db, ceilingOf(c.var.auth), id));
    audit(c, { action: 'user.sessions_revoke', outcome: 'success', targetId: id, details: { sessions: ended } });
    await afterResponse(c, 'closing live sockets', closeLiveSockets(c.env, id));
    return c.json({ ended }, 200);
  })
  .get(listIdentitiesRoute.path, endpoint(listIdentitiesRoute), async (c) => c.json({ data: await userIdentities(c.var.db, c.req.valid('param').id) }, 200))
  .get(listApiKeysRoute.path, endpoint(listApiKeysRoute), async (c) => c.json({ data: await userApiKeys(c.var.db, c.req.valid('param').id) }, 200));
