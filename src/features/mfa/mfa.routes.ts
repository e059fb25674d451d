import type { Context } from 'hono';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { AppError } from '../../lib/errors';
import { getConfig } from '../../lib/config';
import { factory, type AppEnv } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { endpoint, type AuthedEnv } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { DisableBody, EnableBody, MfaStatus, RecoveryCodes, SetupBody, SetupResponse } from './mfa.schemas';
import { endOtherSessions } from '../auth/auth.service';
import { closeLiveSockets, sendSecurityNotice } from '../auth/security-events';
import { changingUsers } from '../auth/user-state';
import * as service from './mfa.service';

const statusRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Two-factor status of the caller',
  tags: ['mfa'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Status', schema: MfaStatus } },
});
const setupRoute = defineRoute({
  method: 'post',
  path: '/totp/setup',
  idempotent: true,
  summary: 'Start TOTP enrolment (needs the password): returns the secret and an otpauth:// URL',
  tags: ['mfa'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: SetupBody },
  responses: { 200: { description: 'Secret for the authenticator app', schema: SetupResponse }, 409: { description: 'Already enabled', schema: ErrorResponse } },
});
const enableRoute = defineRoute({
  method: 'post',
  path: '/totp/enable',
  summary: 'Confirm enrolment with a code; returns single-use recovery codes (shown once)',
  tags: ['mfa'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: EnableBody },
  responses: { 200: { description: 'Recovery codes', schema: RecoveryCodes }, 400: { description: 'Wrong code', schema: ErrorResponse } },
});
const disableRoute = defineRoute({
  method: 'post',
  path: '/totp/disable',
  summary: 'Turn two-factor off (password and a current code or recovery code)',
  tags: ['mfa'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: DisableBody },
  responses: { 204: NoContent, 400: { description: 'Wrong password or code', schema: ErrorResponse } },
});
const recoveryRoute = defineRoute({
  method: 'post',
  path: '/recovery-codes',
  idempotent: true,
  summary: 'Replace the recovery codes (password and a current code)',
  tags: ['mfa'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: DisableBody },
  responses: { 200: { description: 'New recovery codes', schema: RecoveryCodes } },
});

const deps = <E extends AppEnv>(c: Context<E>): service.MfaDeps => ({ db: c.var.db, encryptionKey: c.env.MFA_ENCRYPTION_KEY, issuer: `app-ubr${getConfig(c.env).env === 'production' ? '' : ` (${getConfig(c.env).env})`}` });

/**
 * Turning two-factor on or off ends every other session (a device signed in before the change
 * must prove the new state), tells the owner, and closes the other sessions' live sockets.
 */
async function evictOtherDevices(c: Context<AuthedEnv>, event: 'mfa_enabled' | 'mfa_disabled') {
  const auth = c.var.auth;
  const ended = await changingUsers(c.env, [auth.userId], () => endOtherSessions(c.var.db, auth.userInternalId, auth.sessionInternalId, event));
  audit(c, { action: 'security.sessions_ended', outcome: 'success', targetId: auth.userId, details: { reason: event, sessions: ended } });
  await afterResponse(
    c,
    'two-factor change notice',
    Promise.all([
      sendSecurityNotice({ db: c.var.db, env: c.env }, { userId: auth.userId, email: auth.email, event, userAgent: c.req.header('User-Agent') }),
      closeLiveSockets(c.env, auth.userId, { except: auth.sessionId }),
    ]),
  );
}

/**
 * Runs a two-factor change; a wrong password or code (the service's 400) is audited as
 * `mfa.failure` with the operation and which field was wrong, then rethrown unchanged.
 */
async function audited<T>(c: Context<AuthedEnv>, operation: 'setup' | 'enable' | 'disable' | 'recovery_codes', run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AppError && err.status === 400) {
      audit(c, { action: 'mfa.failure', outcome: 'failure', targetId: c.var.auth.userId, details: { operation, field: err.details?.[0]?.field ?? null } });
    }
    throw err;
  }
}

const recoveryCodeUsed = (c: Context<AuthedEnv>, operation: string) =>
  audit(c, { action: 'mfa.recovery_code_used', outcome: 'success', targetId: c.var.auth.userId, details: { operation } });

export const mfaRoutes = factory
  .createApp()
  .get(statusRoute.path, endpoint(statusRoute), async (c) => c.json(await service.mfaStatus(c.var.db, c.var.auth.userInternalId)))
  .post(setupRoute.path, endpoint(setupRoute), async (c) => c.json(await audited(c, 'setup', () => service.setupTotp(deps(c), c.var.auth, c.req.valid('json').password))))
  .post(enableRoute.path, endpoint(enableRoute), async (c) => {
    const auth = c.var.auth;
    const recoveryCodes = await audited(c, 'enable', () => service.enableTotp(deps(c), auth, c.req.valid('json').code));
    audit(c, { action: 'mfa.enable', outcome: 'success', targetId: auth.userId });
    await evictOtherDevices(c, 'mfa_enabled');
    return c.json({ recoveryCodes });
  })
  .post(disableRoute.path, endpoint(disableRoute), async (c) => {
    const { password, code } = c.req.valid('json');
    const factor = await audited(c, 'disable', () => service.disableTotp(deps(c), c.var.auth, password, code));
    if (factor === 'recovery_code') recoveryCodeUsed(c, 'disable');
    audit(c, { action: 'mfa.disable', outcome: 'success', targetId: c.var.auth.userId });
    await evictOtherDevices(c, 'mfa_disabled');
    return c.body(null, 204);
  })
  .post(recoveryRoute.path, endpoint(recoveryRoute), async (c) => {
    const { password, code } = c.req.valid('json');
    const { codes, factor } = await audited(c, 'recovery_codes', () => service.regenerateRecoveryCodes(deps(c), c.var.auth, password, code));
    if (factor === 'recovery_code') recoveryCodeUsed(c, 'recovery_codes');
    audit(c, { action: 'mfa.recovery_codes_regenerated', outcome: 'success', targetId: c.var.auth.userId });
    return c.json({ recoveryCodes: codes });
  });
