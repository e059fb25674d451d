import type { Context } from 'hono';
import * as z from 'zod/mini';
import { afterResponse } from '../../lib/after-response';
import { audit } from '../../lib/audit';
import { factory, type AppEnv } from '../../lib/factory';
import { maskEmail } from '../../lib/log';
import { AUTHENTICATED, defineRoute, PUBLIC } from '../../lib/route';
import { stringField } from '../../lib/validation';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { Email, NewPassword } from './auth.schemas';
import * as service from './recovery.service';
import { closeLiveSockets, sendSecurityNotice } from './security-events';

const Token = z.string(stringField('Token')).check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'Invalid or expired token'));
const ForgotBody = z.strictObject({ email: Email });
const ResetBody = z.strictObject({ token: Token, newPassword: NewPassword });
const VerifyBody = z.strictObject({ token: Token });
const EmailChangeBody = z.strictObject({ newEmail: Email, password: z.string(stringField('Password')).check(z.minLength(1, 'Password is required'), z.maxLength(128, 'Password is too long')) });
const Accepted = z.object({ message: z.string() });

const forgotRoute = defineRoute({
  method: 'post',
  path: '/password/forgot',
  idempotent: true,
  summary: 'Ask for a password-reset email (always 202: no account enumeration)',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  request: { body: ForgotBody },
  responses: { 202: { description: 'If the account exists, an email with a single-use, one-hour token is on its way', schema: Accepted } },
});
const resetRoute = defineRoute({
  method: 'post',
  path: '/password/reset',
  summary: 'Set a new password with a reset token; every session of the account ends',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  request: { body: ResetBody },
  responses: { 204: NoContent, 400: { description: 'Invalid, used or expired token, or a weak password', schema: ErrorResponse } },
});
const verifyRequestRoute = defineRoute({
  method: 'post',
  path: '/email/verify/request',
  idempotent: true,
  summary: 'Send (again) the email-verification message to the caller',
  tags: ['auth'],
  access: AUTHENTICATED,
  // 3 per hour per account (and the auth tier per IP): a resend button cannot mail-bomb.
  rateLimit: 'resend',
  responses: { 202: { description: 'Sent unless already verified', schema: Accepted }, 429: { description: 'RATE_LIMITED', schema: ErrorResponse } },
});
const verifyRoute = defineRoute({
  method: 'post',
  path: '/email/verify',
  summary: 'Confirm an email address with its single-use token',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  request: { body: VerifyBody },
  responses: { 204: NoContent, 400: { description: 'Invalid, used or expired token', schema: ErrorResponse } },
});

const emailChangeRoute = defineRoute({
  method: 'post',
  path: '/email/change',
  idempotent: true,
  summary: 'Ask to change the email (password required): a confirmation link goes to the new address',
  tags: ['auth'],
  access: AUTHENTICATED,
  rateLimit: 'auth',
  request: { body: EmailChangeBody },
  responses: {
    202: { description: 'Confirmation sent to the new address; the email changes once confirmed', schema: Accepted },
    400: { description: 'Wrong password, or the same address', schema: ErrorResponse },
    409: { description: 'EMAIL_TAKEN', schema: ErrorResponse, codes: ['EMAIL_TAKEN'] },
  },
});
const emailChangeConfirmRoute = defineRoute({
  method: 'post',
  path: '/email/change/confirm',
  summary: 'Confirm an email change with its single-use token; the new address counts as verified',
  tags: ['auth'],
  access: PUBLIC,
  rateLimit: 'auth',
  request: { body: VerifyBody },
  responses: { 204: NoContent, 400: { description: 'Invalid, used or expired token', schema: ErrorResponse }, 409: { description: 'EMAIL_TAKEN meanwhile', schema: ErrorResponse, codes: ['EMAIL_TAKEN'] } },
});

export const recoveryDeps = <E extends AppEnv>(c: Context<E>): service.RecoveryDeps => ({ db: c.var.db, env: c.env, appUrl: c.env.APP_URL ?? 'http://127.0.0.1:8787' });

export const recoveryRoutes = factory
  .createApp()
  .post(forgotRoute.path, endpoint(forgotRoute), async (c) => {
    const { email } = c.req.valid('json');
    audit(c, { action: 'auth.password_reset_request', outcome: 'success', details: { email: maskEmail(email) } });
    await afterResponse(c, 'password reset request', service.requestPasswordReset(recoveryDeps(c), email));
    return c.json({ message: 'If an account exists for this email, a reset link is on its way.' }, 202);
  })
  .post(resetRoute.path, endpoint(resetRoute), async (c) => {
    const { token, newPassword } = c.req.valid('json');
    try {
      const { userId, email } = await service.resetPassword(recoveryDeps(c), token, newPassword);
      audit(c, { action: 'auth.password_reset', outcome: 'success', targetId: userId, details: { revoked: 'sessions, refresh tokens, api keys' } });
      await afterResponse(
        c,
        'password reset notice',
        Promise.all([sendSecurityNotice(recoveryDeps(c), { userId, email, event: 'password_reset', userAgent: c.req.header('User-Agent') }), closeLiveSockets(c.env, userId)]),
      );
    } catch (err) {
      audit(c, { action: 'auth.password_reset', outcome: 'failure' });
      throw err;
    }
    return c.body(null, 204);
  })
  .post(verifyRequestRoute.path, endpoint(verifyRequestRoute), async (c) => {
    await afterResponse(c, 'verification email', service.requestEmailVerification(recoveryDeps(c), c.var.auth));
    return c.json({ message: 'If the address is not verified yet, a verification email is on its way.' }, 202);
  })
  .post(verifyRoute.path, endpoint(verifyRoute), async (c) => {
    const userId = await service.verifyEmail(recoveryDeps(c), c.req.valid('json').token);
    audit(c, { action: 'auth.email_verify', outcome: 'success', targetId: userId });
    return c.body(null, 204);
  })
  .post(emailChangeRoute.path, endpoint(emailChangeRoute), async (c) => {
    const body = c.req.valid('json');
    await service.requestEmailChange(recoveryDeps(c), c.var.auth, body);
    audit(c, { action: 'auth.email_change_request', outcome: 'success', targetId: c.var.auth.userId, details: { newEmail: maskEmail(body.newEmail) } });
    return c.json({ message: 'A confirmation link is on its way to the new address.' }, 202);
  })
  .post(emailChangeConfirmRoute.path, endpoint(emailChangeConfirmRoute), async (c) => {
    const { userId, newEmail, oldEmail, keptSessionId } = await service.confirmEmailChange(recoveryDeps(c), c.req.valid('json').token);
    audit(c, { action: 'auth.email_change', outcome: 'success', targetId: userId, details: { newEmail: maskEmail(newEmail) } });
    await afterResponse(
      c,
      'email change notice',
      Promise.all([
        sendSecurityNotice(recoveryDeps(c), { userId, email: oldEmail, event: 'email_changed', userAgent: c.req.header('User-Agent') }),
        closeLiveSockets(c.env, userId, keptSessionId ? { except: keptSessionId } : {}),
      ]),
    );
    return c.body(null, 204);
  });
