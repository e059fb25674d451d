import { audit } from '../../lib/audit';
import { notFound } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { confirmLink, listIdentities, unlinkIdentity } from './identities.service';
import { IdentityListResponse, IdentityParams, LinkBody } from './oauth-login.schemas';
import * as z from 'zod/mini';

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: "The caller's social sign-in identities",
  tags: ['auth'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Identities', schema: IdentityListResponse } },
});
const linkRoute = defineRoute({
  method: 'post',
  path: '/link',
  summary: 'Confirm a pending link (the link_code a social sign-in returned for this account email) while signed in',
  tags: ['auth'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: LinkBody },
  responses: {
    201: { description: 'Linked', schema: z.object({ id: z.string(), provider: z.string() }) },
    409: { description: 'Unknown, spent or expired code, made for another account, or the identity is linked already', schema: ErrorResponse, codes: ['OAUTH_LINK_REFUSED'] },
  },
});
const unlinkRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: 'Unlink an identity (never the last way to sign in)',
  tags: ['auth'],
  access: AUTHENTICATED,
  request: { params: IdentityParams },
  responses: {
    204: NoContent,
    404: { description: 'No such identity of the caller', schema: ErrorResponse },
    422: { description: 'No password and no other identity: it is the only way to sign in', schema: ErrorResponse, codes: ['OAUTH_LAST_SIGN_IN_METHOD'] },
  },
});

export const identitiesRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await listIdentities(c.var.db, c.var.auth.userInternalId) }, 200))
  .post(linkRoute.path, endpoint(linkRoute), async (c) => {
    const { userId, userInternalId } = c.var.auth;
    try {
      const linked = await confirmLink(c.var.db, userInternalId, c.req.valid('json').linkCode);
      audit(c, { action: 'oauth.link', outcome: 'success', actorId: userId, targetId: userId, details: { provider: linked.provider, identityId: linked.id } });
      return c.json(linked, 201);
    } catch (err) {
      audit(c, { action: 'oauth.link', outcome: 'failure', actorId: userId, targetId: userId });
      throw err;
    }
  })
  .delete(unlinkRoute.path, endpoint(unlinkRoute), async (c) => {
    const { userId, userInternalId } = c.var.auth;
    const { id } = c.req.valid('param');
    const removed = await unlinkIdentity(c.var.db, userInternalId, id);
    if (!removed) throw notFound();
    audit(c, { action: 'oauth.unlink', outcome: 'success', actorId: userId, targetId: userId, details: { provider: removed.provider, identityId: id } });
    return c.body(null, 204);
  });
