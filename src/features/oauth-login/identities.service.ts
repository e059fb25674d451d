import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { oauthIdentities, oauthTickets, users } from '../../db/schema/auth';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { BUILT_IN_ROLES } from '../../lib/permissions';
import { NO_PASSWORD } from '../../security/password';
import { createUserWithProfile } from '../users/users.service';
import { lastSignInMethod, linkRefused } from './oauth-login.errors';
import type { ProviderConfig } from './oauth-login.providers';

export const FLOW_TTL_MS = 10 * 60_000;
export const EXCHANGE_TTL_MS = 2 * 60_000;
export const LINK_TTL_MS = 10 * 60_000;

type TicketKind = (typeof oauthTickets.$inferSelect)['kind'];

/** What the provider proved: the subject, and the email only as far as the provider vouches for it. */
export interface ProviderIdentity {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  /** A display name for a new account (Apple's first form_post), never used to match anyone. */
  name?: string | null;
}

export type Resolution =
  | { kind: 'signin'; userInternalId: number; userPublicId: string; created: boolean }
  | { kind: 'link'; linkCode: string; userPublicId: string };

export function identityFromClaims(provider: ProviderConfig, claims: Record<string, unknown>): ProviderIdentity {
  const email = typeof claims.email === 'string' && claims.email.length <= 254 ? claims.email.trim().toLowerCase() : null;
  // Apple sends the boolean as a string ("true" / "false"), also for its private relay addresses
  // (…@privaterelay.appleid.com), which it verified forward to the user: trusted like any other.
  const saysVerified = claims.email_verified === true || claims.email_verified === 'true';
  return { provider: provider.name, subject: String(claims.sub), email, emailVerified: email !== null && provider.trustEmailVerified && saysVerified };
}

/** Stores a single-use ticket under the hash of a fresh key and returns the key. */
export async function createTicket(db: Databases, kind: TicketKind, provider: string, ttlMs: number, data: Record<string, unknown>, userId: number | null = null, key = randomToken(32)): Promise<string> {
  await db.auth.insert(oauthTickets).values({ kind, keyHash: await sha256Hex(key), provider, data, userId, expiresAt: new Date(Date.now() + ttlMs) });
  return key;
}

/** Spends a ticket: one conditional UPDATE, so a replay (or a concurrent second use) finds nothing. */
export async function consumeTicket(db: Databases, kind: TicketKind, key: string) {
  const now = new Date();
  return db.auth
    .update(oauthTickets)
    .set({ usedAt: now })
    .where(and(eq(oauthTickets.keyHash, await sha256Hex(key)), eq(oauthTickets.kind, kind), isNull(oauthTickets.usedAt), gt(oauthTickets.expiresAt, now)))
    .returning({ provider: oauthTickets.provider, data: oauthTickets.data, userId: oauthTickets.userId })
    .get();
}

/** Reads a live ticket without spending it (the exchange asks for a second factor first). */
export async function peekTicket(db: Databases, kind: TicketKind, key: string) {
  return db.auth
    .select({ userId: oauthTickets.userId })
    .from(oauthTickets)
    .where(and(eq(oauthTickets.keyHash, await sha256Hex(key)), eq(oauthTickets.kind, kind), isNull(oauthTickets.usedAt), gt(oauthTickets.expiresAt, new Date())))
    .get();
}

/**
 * The linking rules (seeds 000/002): provider + subject known → that user. Otherwise the email
 * decides only whether an account must be created or a link confirmed: the same address as an
 * existing account never signs anyone in to it. It becomes a pending link, consumed by that
 * account once signed in, and only when both sides verified the address (an account whose email
 * is unverified may be someone's pre-registration of the address). A new email → a new account.
 */
export async function resolveIdentity(db: Databases, who: ProviderIdentity): Promise<Resolution> {
  const known = await db.auth
    .select({ id: oauthIdentities.id, userId: users.id, publicId: users.publicId, deletedAt: users.deletedAt })
    .from(oauthIdentities)
    .innerJoin(users, eq(users.id, oauthIdentities.userId))
    .where(and(eq(oauthIdentities.provider, who.provider), eq(oauthIdentities.subject, who.subject)))
    .get();
  if (known) {
    if (known.deletedAt) throw linkRefused('account deleted');
    // A token without email (Apple may leave it out) keeps the address recorded before.
    await db.auth
      .update(oauthIdentities)
      .set({ lastLoginAt: new Date(), ...(who.email ? { email: who.email, emailVerified: who.emailVerified } : {}) })
      .where(eq(oauthIdentities.id, known.id));
    return { kind: 'signin', userInternalId: known.userId, userPublicId: known.publicId, created: false };
  }
  if (!who.email) throw linkRefused('provider gave no email');
  const holder = await db.auth
    .select({ id: users.id, publicId: users.publicId, emailVerifiedAt: users.emailVerifiedAt, deletedAt: users.deletedAt })
    .from(users)
    .where(eq(users.email, who.email))
    .get();
  if (holder) {
    if (!who.emailVerified) throw linkRefused('email taken, provider email not verified');
    if (!holder.emailVerifiedAt || holder.deletedAt) throw linkRefused('email taken by an unverified or deleted account');
    const linkCode = await createTicket(db, 'link', who.provider, LINK_TTL_MS, { subject: who.subject, email: who.email, emailVerified: who.emailVerified }, holder.id);
    return { kind: 'link', linkCode, userPublicId: holder.publicId };
  }
  return createSocialUser(db, { ...who, email: who.email });
}

async function createSocialUser(db: Databases, who: ProviderIdentity & { email: string }): Promise<Resolution> {
  const publicId = uuidv7();
  const userId = sql`(SELECT id FROM users WHERE public_id = ${publicId})`;
  const now = new Date();
  await createUserWithProfile(db, {
    publicId,
    email: who.email,
    passwordHash: NO_PASSWORD,
    fullName: who.name ?? null,
    roleName: BUILT_IN_ROLES.user,
    extra: [
      db.auth.insert(oauthIdentities).values({ userId: userId as unknown as number, provider: who.provider, subject: who.subject, email: who.email, emailVerified: who.emailVerified, lastLoginAt: now }),
      ...(who.emailVerified ? [db.auth.update(users).set({ emailVerifiedAt: now }).where(eq(users.publicId, publicId))] : []),
    ],
  });
  const row = await db.auth.select({ id: users.id }).from(users).where(eq(users.publicId, publicId)).get();
  if (!row) throw new Error('social user not found after creation');
  return { kind: 'signin', userInternalId: row.id, userPublicId: publicId, created: true };
}

/** Consumes a pending link for the signed-in caller: only the account it was made for. */
export async function confirmLink(db: Databases, userInternalId: number, linkCode: string): Promise<{ id: string; provider: string }> {
  const ticket = await consumeTicket(db, 'link', linkCode);
  if (!ticket || ticket.userId !== userInternalId) throw linkRefused(ticket ? 'pending link of another account' : 'unknown or spent link code');
  const data = ticket.data as { subject: string; email: string; emailVerified: boolean };
  const id = uuidv7();
  try {
    await db.auth.insert(oauthIdentities).values({ publicId: id, userId: userInternalId, provider: ticket.provider, subject: data.subject, email: data.email, emailVerified: data.emailVerified });
  } catch (err) {
    if (isUniqueViolation(err)) throw linkRefused('identity already linked');
    throw err;
  }
  return { id, provider: ticket.provider };
}

export async function listIdentities(db: Databases, userInternalId: number) {
  const rows = await db.auth.select().from(oauthIdentities).where(eq(oauthIdentities.userId, userInternalId)).orderBy(oauthIdentities.id);
  return rows.map((r) => ({ id: r.publicId, provider: r.provider, email: r.email, emailVerified: r.emailVerified, createdAt: r.createdAt.toISOString(), lastLoginAt: r.lastLoginAt?.toISOString() ?? null }));
}

/**
 * Unlinks one identity unless it is the last way to sign in (no password and no other identity),
 * decided inside the one DELETE so two concurrent unlinks cannot both pass the check.
 */
export async function unlinkIdentity(db: Databases, userInternalId: number, identityPublicId: string): Promise<{ provider: string } | null> {
  const removed = await db.auth
    .delete(oauthIdentities)
    .where(
      and(
        eq(oauthIdentities.publicId, identityPublicId),
        eq(oauthIdentities.userId, userInternalId),
        sql`(EXISTS (SELECT 1 FROM users WHERE id = ${userInternalId} AND password_hash <> ${NO_PASSWORD})
          OR (SELECT count(*) FROM oauth_identities WHERE user_id = ${userInternalId}) > 1)`,
      ),
    )
    .returning({ provider: oauthIdentities.provider })
    .get();
  if (removed) return removed;
  const exists = await db.auth.select({ id: oauthIdentities.id }).from(oauthIdentities).where(and(eq(oauthIdentities.publicId, identityPublicId), eq(oauthIdentities.userId, userInternalId))).get();
  if (exists) throw lastSignInMethod();
  return null;
}
