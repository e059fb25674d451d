import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { TokenPairResponse } from '../auth/auth.schemas';
import { openSessionFor } from '../auth/auth.service';
import { sendSecurityNotice } from '../auth/security-events';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { passkeyRejected } from './passkeys.errors';
import { LoginOptionsResponse, LoginVerifyBody, PasskeyListResponse, PasskeyParams, PasskeyResponse, RegisterOptionsResponse, RegisterVerifyBody, RenameBody } from './passkeys.schemas';
import * as service from './passkeys.service';

const tags = ['passkeys'];

const registerOptionsRoute = defineRoute({
  method: 'post',
  path: '/register/options',
  summary: 'Start registering a passkey for the caller: creation options with a single-use, 5-minute challenge',
  tags,
  access: AUTHENTICATED,
  responses: {
    200: { description: 'Pass `options` to navigator.credentials.create(); send the result with `challengeId` to /register/verify', schema: RegisterOptionsResponse },
    422: { description: 'BUSINESS_RULE: the account holds the maximum number of passkeys', schema: ErrorResponse },
  },
});
const registerVerifyRoute = defineRoute({
  method: 'post',
  path: '/register/verify',
  summary: 'Finish registering a passkey (attestation `none`; user verification required)',
  tags,
  access: AUTHENTICATED,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: RegisterVerifyBody },
  responses: {
    201: { description: 'The new passkey', schema: PasskeyResponse },
    400: { description: 'PASSKEY_REJECTED: challenge spent, expired or not this ceremony, wrong origin or rpId, no user verification, unsupported key', schema: ErrorResponse, codes: ['PASSKEY_REJECTED'] },
    409: { description: 'PASSKEY_EXISTS: this credential is registered already', schema: ErrorResponse, codes: ['PASSKEY_EXISTS'] },
  },
});
const loginOptionsRoute = defineRoute({
  method: 'post',
  path: '/login/options',
  summary: 'Start a passkey sign-in: request options for discoverable credentials (no email needed)',
  tags,
  access: PUBLIC,
  // Anonymous, not auth: it answers 200 to everyone and checks nothing, so it must not spend the
  // IP's sign-in budget (the verify step is auth-tier).
  rateLimit: 'anonymous',
  responses: { 200: { description: 'Pass `options` to navigator.credentials.get(); send the result with `challengeId` to /login/verify', schema: LoginOptionsResponse } },
});
const loginVerifyRoute = defineRoute({
  method: 'post',
  path: '/login/verify',
  summary: 'Sign in with a passkey assertion (the only factor: it proves possession and user verification)',
  tags,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: LoginVerifyBody },
  responses: {
    200: { description: 'A token pair for a new session', schema: TokenPairResponse },
    401: { description: 'PASSKEY_REJECTED, alike for an unknown credential, a bad signature, a spent challenge and a counter regression', schema: ErrorResponse, codes: ['PASSKEY_REJECTED'] },
  },
});
const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: "List the caller's passkeys",
  tags,
  access: AUTHENTICATED,
  responses: { 200: { description: 'Passkeys, oldest first', schema: PasskeyListResponse } },
});
const renameRoute = defineRoute({
  method: 'patch',
  path: '/:id',
  summary: "Rename one of the caller's passkeys",
  tags,
  access: AUTHENTICATED,
  request: { params: PasskeyParams, body: RenameBody },
  responses: { 200: { description: 'The renamed passkey', schema: PasskeyResponse }, 404: { description: 'No such passkey of the caller', schema: ErrorResponse } },
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: "Delete one of the caller's passkeys (it stops signing in at once)",
  tags,
  access: AUTHENTICATED,
  request: { params: PasskeyParams },
  responses: { 204: NoContent, 404: { description: 'No such passkey of the caller', schema: ErrorResponse } },
});

export const passkeysRoutes = factory
  .createApp()
  .post(registerOptionsRoute.path, endpoint(registerOptionsRoute), async (c) => {
    return c.json(await service.registrationOptions(c.var.db, service.relyingParty(c.env), c.var.auth), 200);
  })
  .post(registerVerifyRoute.path, endpoint(registerVerifyRoute), async (c) => {
    const auth = c.var.auth;
    const result = await service.register(c.var.db, service.relyingParty(c.env), auth, c.req.valid('json'));
    if (!result.ok) {
      audit(c, { action: 'passkey.register', outcome: 'failure', targetId: auth.userId, details: { reason: result.reason } });
      throw passkeyRejected(400);
    }
    audit(c, { action: 'passkey.register', outcome: 'success', targetId: auth.userId, details: { passkeyId: result.value.publicId, aaguid: result.value.aaguid } });
    await afterResponse(c, 'passkey notice', sendSecurityNotice({ db: c.var.db, env: c.env }, { userId: auth.userId, email: auth.email, event: 'passkey_added', userAgent: c.req.header('User-Agent') }));
    return c.json(service.toView(result.value), 201);
  })
  .post(loginOptionsRoute.path, endpoint(loginOptionsRoute), async (c) => {
    return c.json(await service.loginOptions(c.var.db, service.relyingParty(c.env)), 200);
  })
  .post(loginVerifyRoute.path, endpoint(loginVerifyRoute), async (c) => {
    const result = await service.login(c.var.db, service.relyingParty(c.env), c.req.valid('json'));
    const pair = result.ok ? await openSessionFor({ db: c.var.db, env: c.env, config: getConfig(c.env) }, result.userInternalId, { userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null }) : null;
    if (!pair) {
      const reason = result.ok ? 'user deleted' : result.reason;
      // A counter that went backwards points at a cloned authenticator: worth more than a warning.
      audit(c, { action: 'passkey.login', outcome: 'failure', ...(reason === 'counter regression' ? { level: 'error' as const } : {}), details: { reason } });
      throw passkeyRejected(401);
    }
    audit(c, { action: 'passkey.login', outcome: 'success', actorId: pair.user.id, targetId: pair.user.id, details: { passkeyId: result.ok ? result.passkeyId : null } });
    return c.json(pair, 200);
  })
  .get(listRoute.path, endpoint(listRoute), async (c) => {
    return c.json({ data: (await service.list(c.var.db, c.var.auth.userInternalId)).map(service.toView) }, 200);
  })
  .patch(renameRoute.path, endpoint(renameRoute), async (c) => {
    const row = await service.rename(c.var.db, c.var.auth.userInternalId, c.req.valid('param').id, c.req.valid('json').name);
    if (!row) throw new AppError(404, 'NOT_FOUND');
    audit(c, { action: 'passkey.rename', outcome: 'success', targetId: c.var.auth.userId, details: { passkeyId: row.publicId } });
    return c.json(service.toView(row), 200);
  })
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const { id } = c.req.valid('param');
    if (!(await service.remove(c.var.db, c.var.auth.userInternalId, id))) throw new AppError(404, 'NOT_FOUND');
    audit(c, { action: 'passkey.delete', outcome: 'success', targetId: c.var.auth.userId, details: { passkeyId: id } });
    return c.body(null, 204);
  });
