import { inArray, lt } from 'drizzle-orm';
import { smsConsentProofs } from '../db/schema/app';
import { deleteExpiredOneTimeTokens } from '../features/auth/one-time-tokens.repository';
import { deleteExpiredMfaChallenges } from '../features/mfa/mfa-passkey.service';
import { deleteExpiredChallenges } from '../features/passkeys/passkeys.service';
import { deleteExpiredFlows } from '../features/passwordless/passwordless.service';
import { deleteExpiredOAuthTickets } from '../features/oauth-login/tickets.repository';
import { changes, inChunks, merge, type Job } from './job';

const CHUNK = 1000;
const budget = { chunkSize: CHUNK, maxChunks: 10 };

/**
 * Expired single-use codes: verification and reset tokens in AUTH_DB (1 h lifetime; used ones
 * expire just the same), WebAuthn and two-factor passkey challenges (5 min) and passwordless flows (10 min) in AUTH_DB,
 * and SMS consent codes in APP_DB (10 min; they hold a phone number). Social sign-in tickets
 * (AUTH_DB, 2 to 10 min) go with them.
 */
export const cleanupOneTimeTokens: Job = async ({ db, now }) => {
  const at = new Date(now);
  const tokens = await inChunks(async () => changes(await deleteExpiredOneTimeTokens(db.auth, at, CHUNK)), budget);
  // This query belongs in features/notifications, the table's owner (sms-consent.service.ts); it
  // stays here until it moves there, in a change to that feature.
  const codes = db.app.select({ id: smsConsentProofs.id }).from(smsConsentProofs).where(lt(smsConsentProofs.expiresAt, at)).limit(CHUNK);
  const smsCodes = await inChunks(async () => changes(await db.app.delete(smsConsentProofs).where(inArray(smsConsentProofs.id, codes))), budget);
  const challenges = await inChunks(async () => changes(await deleteExpiredChallenges(db.auth, at, CHUNK)), budget);
  const mfa = await inChunks(async () => changes(await deleteExpiredMfaChallenges(db.auth, at, CHUNK)), budget);
  const flows = await inChunks(async () => changes(await deleteExpiredFlows(db.auth, at, CHUNK)), budget);
  const oauth = await inChunks(async () => changes(await deleteExpiredOAuthTickets(db.auth, at, CHUNK)), budget);
  return merge([tokens, smsCodes, challenges, mfa, flows, oauth], {
    tokens: tokens.affected,
    smsCodes: smsCodes.affected,
    webauthnChallenges: challenges.affected,
    mfaChallenges: mfa.affected,
    passwordlessFlows: flows.affected,
    oauthTickets: oauth.affected,
  });
};
