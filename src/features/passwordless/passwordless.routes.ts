import type { Context } from 'hono';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { factory, type AppEnv } from '../../lib/factory';
import { maskEmail } from '../../lib/log';
import { defineRoute, PUBLIC, type RouteSpec } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { TokenPairResponse } from '../auth/auth.schemas';
import { openSessionFor } from '../auth/auth.service';
import { ErrorResponse } from '../docs/common.schemas';
import { invalidSignInCode } from './passwordless.errors';
import { LinkVerifyBody, OtpVerifyBody, StartBody, StartResponse } from './passwordless.schemas';
import * as service from './passwordless.service';

const tags = ['auth'];
const startSpec = (path: string, what: string) =>
  ({
    method: 'post',
    path,
    summary: `Email a ${what} for signing in without a password (always 202: no account enumeration)`,
    tags,
    access: PUBLIC,
    // Per IP and per email; no refund: it answers 202 to everyone.
    rateLimit: 'auth',
    request: { body: StartBody },
    responses: { 202: { description: `If the account exists, a single-use ${what} valid 10 minutes is on its way; keep \`flowId\` to finish`, schema: StartResponse } },
  }) as const satisfies RouteSpec;
const verifyResponses = {
  200: { description: 'A token pair for a new session', schema: TokenPairResponse },
  401: {
    description: 'INVALID_SIGN_IN_CODE: wrong, used or expired, another request’s, or 5 attempts already; MFA_REQUIRED / INVALID_MFA_CODE after a right code when two-factor is on',
    schema: ErrorResponse,
    codes: ['INVALID_SIGN_IN_CODE', 'MFA_REQUIRED', 'INVALID_MFA_CODE'],
  },
} as const satisfies RouteSpec['responses'];
const verifySummary = (what: string) => `Sign in with the mailed ${what} and the \`flowId\` of the request that asked for it; the email becomes verified`;

const otpStartRoute = defineRoute(startSpec('/email-otp', '6-digit code'));
const otpVerifyRoute = defineRoute({
  method: 'post',
  path: '/email-otp/verify',
  summary: verifySummary('code'),
  tags,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: OtpVerifyBody },
  responses: verifyResponses,
});
const linkStartRoute = defineRoute(startSpec('/magic-link', 'sign-in link'));
const linkVerifyRoute = defineRoute({
  method: 'post',
  path: '/magic-link/verify',
  summary: verifySummary('link token'),
  tags,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: LinkVerifyBody },
  responses: verifyResponses,
});

const deps = <E extends AppEnv>(c: Context<E>): service.PasswordlessDeps => ({ db: c.var.db, env: c.env, appUrl: c.env.APP_URL ?? 'http://127.0.0.1:8787' });

async function begin<E extends AppEnv>(c: Context<E>, method: service.Method, email: string) {
  const { flowId, send } = await service.start(deps(c), method, email);
  audit(c, { action: 'auth.passwordless_request', outcome: 'success', details: { method, email: maskEmail(email) } });
  await afterResponse(c, 'passwordless email', send());
  return { flowId, expiresIn: service.FLOW_TTL_MS / 1000, message: 'If an account exists for this email, a message is on its way.' };
}

async function complete<E extends AppEnv>(c: Context<E>, method: service.Method, flowId: string, secret: string, mfaCode?: string) {
  const result = await service.finish(deps(c), method, flowId, secret, mfaCode);
  const pair = result.ok ? await openSessionFor({ db: c.var.db, env: c.env, config: getConfig(c.env) }, result.userInternalId, { userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null }) : null;
  if (!pair) {
    audit(c, { action: 'auth.passwordless_login', outcome: 'failure', details: { method, reason: result.ok ? 'user_deleted' : result.reason } });
    if (!result.ok && result.reason === 'mfa_required') throw new AppError(401, 'MFA_REQUIRED');
    if (!result.ok && result.reason === 'mfa_invalid') throw new AppError(401, 'INVALID_MFA_CODE');
    throw invalidSignInCode();
  }
  audit(c, { action: 'auth.passwordless_login', outcome: 'success', actorId: pair.user.id, targetId: pair.user.id, details: { method } });
  return pair;
}

export const passwordlessRoutes = factory
  .createApp()
  .post(otpStartRoute.path, endpoint(otpStartRoute), async (c) => c.json(await begin(c, 'email_otp', c.req.valid('json').email), 202))
  .post(otpVerifyRoute.path, endpoint(otpVerifyRoute), async (c) => {
    const { flowId, code, mfaCode } = c.req.valid('json');
    return c.json(await complete(c, 'email_otp', flowId, code, mfaCode), 200);
  })
  .post(linkStartRoute.path, endpoint(linkStartRoute), async (c) => c.json(await begin(c, 'magic_link', c.req.valid('json').email), 202))
  .post(linkVerifyRoute.path, endpoint(linkVerifyRoute), async (c) => {
    const { flowId, token, mfaCode } = c.req.valid('json');
    return c.json(await complete(c, 'magic_link', flowId, token, mfaCode), 200);
  });
