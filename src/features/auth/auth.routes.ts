import * as z from 'zod/mini';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { maskEmail } from '../../lib/log';
import { AUTHENTICATED, defineRoute, PUBLIC } from '../../lib/route';
import { trustedDevice } from '../../middleware/device';
import { endpoint } from '../../middleware/endpoint';
import { verifyDeviceToken } from '../../security/device-token';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { ChangePasswordBody, LoginBody, RefreshBody, RegisterBody, SessionListResponse, TokenPairResponse } from './auth.schemas';
import * as service from './auth.service';
import { refresh } from './refresh.service';
import { recoveryDeps } from './recovery.routes';
import { closeLiveSockets, sendSecurityNotice } from './security-events';
import { changingUsers } from './user-state';
import { requestEmailVerification } from './recovery.service';
import { issueMfaChallenge } from '../mfa/mfa-passkey.service';

const registerRoute = defineRoute({
  method: 'post',
  path: '/register',
  idempotent: true,
  summary: 'Create an account and sign in',
  tags: ['auth'],
  access: PUBLIC,
  // Per IP, successes count (10/hour by default): accounts cost a hash, a session and a mail.
  rateLimit: 'registration',
  refundOnSuccess: true,
  request: { body: RegisterBody },
  responses: {
    201: { description: 'Account created; a token pair for its first session', schema: TokenPairResponse },
    400: { description: 'Invalid input (every field at once), or a common password', schema: ErrorResponse },
    409: { description: 'EMAIL_TAKEN', schema: ErrorResponse, codes: ['EMAIL_TAKEN'] },
    429: { description: 'RATE_LIMITED: too many registrations from this network, or attempts for this email', schema: ErrorResponse },
  },
});

const loginRoute = defineRoute({
  method: 'post',
  path: '/login',
  summary: 'Sign in with email and password',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  deviceBudget: true,
  request: { body: LoginBody },
  responses: {
    200: { description: 'A token pair for a new session', schema: TokenPairResponse },
    401: {
      description:
        'INVALID_CREDENTIALS, alike for unknown email, wrong password and locked account; MFA_REQUIRED / INVALID_MFA_CODE after a correct password when two-factor is on (send mfaCode again with the password; or, when `error.mfa` is present, finish with a passkey: `error.mfa` = {token, expiresIn, methods}, send `mfaToken` to /auth/mfa/passkey/options and /verify)',
      schema: ErrorResponse,
      codes: ['INVALID_CREDENTIALS', 'MFA_REQUIRED', 'INVALID_MFA_CODE'],
    },
  },
});

const refreshRoute = defineRoute({
  method: 'post',
  path: '/refresh',
  summary: 'Rotate a refresh token for a new token pair',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'anonymous',
  request: { body: RefreshBody },
  responses: {
    200: { description: 'A new pair; the presented refresh token is spent', schema: TokenPairResponse },
    401: { description: 'INVALID_REFRESH_TOKEN; a spent token also revokes its whole family', schema: ErrorResponse, codes: ['INVALID_REFRESH_TOKEN'] },
  },
});

const logoutRoute = defineRoute({
  method: 'post',
  path: '/logout',
  summary: 'End the current session (access and refresh tokens stop at once)',
  tags: ['auth'],
  access: AUTHENTICATED,
  responses: { 204: NoContent, 401: { description: 'Not signed in', schema: ErrorResponse } },
});

const changePasswordRoute = defineRoute({
  method: 'post',
  path: '/password',
  summary: 'Change password; every other session is revoked',
  tags: ['auth'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: ChangePasswordBody },
  responses: { 204: NoContent, 400: { description: 'Wrong current password or weak new one', schema: ErrorResponse } },
});

const listSessionsRoute = defineRoute({
  method: 'get',
  path: '/sessions',
  summary: "List the caller's active sessions (one per device)",
  tags: ['auth'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Active sessions', schema: SessionListResponse } },
});

const SessionIdParams = z.object({ id: z.uuid({ error: 'Invalid session id' }) });
const revokeSessionRoute = defineRoute({
  method: 'delete',
  path: '/sessions/:id',
  summary: "Revoke one of the caller's sessions",
  tags: ['auth'],
  access: AUTHENTICATED,
  request: { params: SessionIdParams },
  responses: { 204: NoContent, 404: { description: 'No such session of the caller', schema: ErrorResponse } },
});

const deps = (c: { var: { db: service.AuthDeps['db'] }; env: CloudflareBindings }): service.AuthDeps => ({
  db: c.var.db,
  env: c.env,
  config: getConfig(c.env),
});

const meta = (c: { req: { header: (n: string) => string | undefined } }): service.ClientMeta => ({
  userAgent: c.req.header('User-Agent') ?? null,
  ip: c.req.header('CF-Connecting-IP') ?? null,
});

export const authRoutes = factory
  .createApp()
  .post(registerRoute.path, endpoint(registerRoute), async (c) => {
    const body = c.req.valid('json');
    try {
      const pair = await service.register(deps(c), body, meta(c));
      audit(c, { action: 'auth.register', outcome: 'success', actorId: pair.user.id, targetId: pair.user.id });
      // The verification link goes out after the response: registration never waits on mail.
      await afterResponse(c, 'verification email', requestEmailVerification(recoveryDeps(c), { userId: pair.user.id, email: pair.user.email }));
      return c.json(pair, 201);
    } catch (err) {
      if (err instanceof AppError && err.code === 'EMAIL_TAKEN') {
        audit(c, { action: 'auth.register', outcome: 'failure', details: { reason: 'email_taken', email: maskEmail(body.email) } });
      }
      throw err;
    }
  })
  .post(loginRoute.path, endpoint(loginRoute), async (c) => {
    const body = c.req.valid('json');
    const result = await service.login(deps(c), body, meta(c), await trustedDevice(c, body.email));
    if (!result.ok) {
      audit(c, { action: 'auth.login', outcome: 'failure', targetId: result.userId, details: { reason: result.reason, email: maskEmail(body.email) } });
      // Only a caller who proved the password learns that a second factor is needed.
      // With a passkey on the account the answer also carries the MFA challenge for the passkey step.
      if (result.reason === 'mfa_required') {
        const mfa = result.userId ? await issueMfaChallenge(c.var.db, result.userId) : null;
        throw new AppError(401, 'MFA_REQUIRED', mfa ? { extra: { mfa } } : {});
      }
      if (result.reason === 'mfa_invalid') throw new AppError(401, 'INVALID_MFA_CODE');
      throw new AppError(401, 'INVALID_CREDENTIALS');
    }
    audit(c, { action: 'auth.login', outcome: 'success', actorId: result.userId, targetId: result.userId, ...(result.secondFactor ? { details: { secondFactor: result.secondFactor } } : {}) });
    // A spent recovery code is worth its own event: the owner may have lost the authenticator.
    if (result.secondFactor === 'recovery_code') audit(c, { action: 'mfa.recovery_code_used', outcome: 'success', actorId: result.userId, targetId: result.userId, details: { operation: 'login' } });
    return c.json(result.pair, 200);
  })
  .post(refreshRoute.path, endpoint(refreshRoute), async (c) => {
    const body = c.req.valid('json');
    const device = body.deviceToken === undefined ? null : await verifyDeviceToken(c.env.DEVICE_TOKEN_SECRET, getConfig(c.env).jwtIssuer, body.deviceToken);
    const result = await refresh(deps(c), body.refreshToken, device);
    if (!result.ok) {
      if (result.reuse) {
        audit(c, { action: 'auth.refresh_reuse', outcome: 'failure', level: 'warn', targetId: result.userId, details: { sessionId: result.sessionId, deviceToken: body.deviceToken === undefined ? 'absent' : device ? 'valid' : 'invalid' } });
      }
      throw new AppError(401, 'INVALID_REFRESH_TOKEN');
    }
    if (result.retry) audit(c, { action: 'auth.refresh_retry', outcome: 'success', targetId: result.userId, details: { sessionId: result.sessionId } });
    return c.json(result.pair, 200);
  })
  .post(logoutRoute.path, endpoint(logoutRoute), async (c) => {
    const auth = c.var.auth;
    await changingUsers(c.env, [auth.userId], () => service.revokeSession(c.var.db, auth.sessionInternalId, 'logout'));
    audit(c, { action: 'auth.logout', outcome: 'success', targetId: auth.userId, details: { sessionId: auth.sessionId } });
    await afterResponse(c, 'closing live sockets', closeLiveSockets(c.env, auth.userId, { only: auth.sessionId }));
    return c.body(null, 204);
  })
  .post(changePasswordRoute.path, endpoint(changePasswordRoute), async (c) => {
    const auth = c.var.auth;
    try {
      await changingUsers(c.env, [auth.userId], () => service.changePassword(deps(c), auth, c.req.valid('json')));
    } catch (err) {
      audit(c, { action: 'auth.password_change', outcome: 'failure', targetId: auth.userId });
      throw err;
    }
    audit(c, { action: 'auth.password_change', outcome: 'success', targetId: auth.userId });
    await afterResponse(
      c,
      'password change notice',
      Promise.all([
        sendSecurityNotice({ db: c.var.db, env: c.env }, { userId: auth.userId, email: auth.email, event: 'password_changed', userAgent: c.req.header('User-Agent') }),
        closeLiveSockets(c.env, auth.userId, { except: auth.sessionId }),
      ]),
    );
    return c.body(null, 204);
  })
  .get(listSessionsRoute.path, endpoint(listSessionsRoute), async (c) => {
    const auth = c.var.auth;
    const rows = await service.listSessions(c.var.db, auth.userInternalId);
    return c.json({
      data: rows.map((s) => ({
        id: s.id,
        current: s.id === auth.sessionId,
        createdAt: s.createdAt.toISOString(),
        lastUsedAt: s.lastUsedAt.toISOString(),
        expiresAt: s.expiresAt.toISOString(),
        userAgent: s.userAgent,
      })),
    });
  })
  .delete(revokeSessionRoute.path, endpoint(revokeSessionRoute), async (c) => {
    const auth = c.var.auth;
    const { id } = c.req.valid('param');
    if (!(await changingUsers(c.env, [auth.userId], () => service.revokeOwnSession(c.var.db, auth.userInternalId, id)))) throw new AppError(404, 'NOT_FOUND');
    audit(c, { action: 'auth.session_revoke', outcome: 'success', targetId: auth.userId, details: { sessionId: id } });
    await afterResponse(c, 'closing live sockets', closeLiveSockets(c.env, auth.userId, { only: id }));
    return c.body(null, 204);
  });
