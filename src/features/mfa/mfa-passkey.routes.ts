import { eq } from 'drizzle-orm';
import { users } from '../../db/schema/auth';
import { audit } from '../../lib/audit';
import { getConfig } from '../../lib/config';
import { factory } from '../../lib/factory';
import { defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { TokenPairResponse } from '../auth/auth.schemas';
import { openSessionFor } from '../auth/auth.service';
import { ErrorResponse } from '../docs/common.schemas';
import { passkeyRejected } from '../passkeys/passkeys.errors';
import { relyingParty } from '../passkeys/passkeys.service';
import { mfaChallengeInvalid } from './mfa.errors';
import { PasskeyOptionsBody, PasskeyOptionsResponse, PasskeyVerifyBody } from './mfa.schemas';
import * as service from './mfa-passkey.service';

const tags = ['mfa'];

// Both steps are auth tier (per IP: the body names no account). Per account they need no budget
// of their own: a token is minted only by a right password at the auth-tier login, and the
// verify step spends it whatever the outcome, so each password proof buys one passkey try.
const optionsRoute = defineRoute({
  method: 'post',
  path: '/options',
  summary: 'Second factor with a passkey: request options for the MFA challenge of a password login',
  tags,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: PasskeyOptionsBody },
  responses: {
    200: { description: "Pass `options` to navigator.credentials.get() (allowCredentials: the account's passkeys); send the result with the same `mfaToken` to /verify", schema: PasskeyOptionsResponse },
    401: { description: 'MFA_CHALLENGE_INVALID: the token is spent, expired (5 min) or unknown', schema: ErrorResponse, codes: ['MFA_CHALLENGE_INVALID'] },
  },
});
const verifyRoute = defineRoute({
  method: 'post',
  path: '/verify',
  summary: 'Second factor with a passkey: finish the password login with an assertion (user verification not required)',
  tags,
  access: PUBLIC,
  rateLimit: 'auth',
  refundOnSuccess: true,
  request: { body: PasskeyVerifyBody },
  responses: {
    200: { description: 'A token pair for a new session', schema: TokenPairResponse },
    401: {
      description: "PASSKEY_REJECTED, alike for a spent, expired or other login's challenge, another account's credential, a bad signature and a counter regression (the token is spent either way)",
      schema: ErrorResponse,
      codes: ['PASSKEY_REJECTED'],
    },
  },
});

export const mfaPasskeyRoutes = factory
  .createApp()
  .post(optionsRoute.path, endpoint(optionsRoute), async (c) => {
    const opts = await service.passkeyOptions(c.var.db, relyingParty(c.env), c.req.valid('json').mfaToken);
    if (!opts) {
      audit(c, { action: 'auth.login', outcome: 'failure', details: { reason: 'mfa_challenge_invalid', secondFactor: 'passkey' } });
      throw mfaChallengeInvalid();
    }
    return c.json(opts, 200);
  })
  .post(verifyRoute.path, endpoint(verifyRoute), async (c) => {
    const db = c.var.db;
    const result = await service.verifyPasskeyFactor(db, relyingParty(c.env), c.req.valid('json'));
    const meta = { userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null };
    const pair = result.ok ? await openSessionFor({ db, env: c.env, config: getConfig(c.env) }, result.userInternalId, meta) : null;
    if (!result.ok || !pair) {
      const reason = result.ok ? 'user deleted' : result.reason;
      const internalId = result.userInternalId;
      const target = internalId === undefined ? null : ((await db.auth.select({ publicId: users.publicId }).from(users).where(eq(users.id, internalId)).get())?.publicId ?? null);
      // A counter that went backwards points at a cloned authenticator: worth more than a warning.
      audit(c, { action: 'auth.login', outcome: 'failure', targetId: target, ...(reason === 'counter regression' ? { level: 'error' as const } : {}), details: { reason: 'mfa_invalid', secondFactor: 'passkey', cause: reason } });
      throw passkeyRejected(401);
    }
    await service.clearLoginFailures(db, result.userInternalId);
    audit(c, { action: 'auth.login', outcome: 'success', actorId: pair.user.id, targetId: pair.user.id, details: { secondFactor: 'passkey', passkeyId: result.passkeyId } });
    return c.json(pair, 200);
  });
