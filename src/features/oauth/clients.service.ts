import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { oauthClients, oauthGrants, oauthTokenFamilies } from '../../db/schema/auth-oauth';
import { randomToken, sha256Hex } from '../../lib/crypto';
import { AppError, notFound } from '../../lib/errors';

/** The admin client registry and the user's own grants (remembered consent). */

type ClientRow = typeof oauthClients.$inferSelect;

export interface ClientView {
  id: string;
  name: string;
  type: 'confidential' | 'public';
  redirectUris: string[];
  scopes: string[];
  createdAt: string;
  updatedAt: string;
}

const view = (r: ClientRow): ClientView => ({
  id: r.publicId,
  name: r.name,
  type: r.type,
  redirectUris: r.redirectUris,
  scopes: r.scopes,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** `ubroc_<32 random bytes>`: shown once; only its SHA-256 is stored. */
async function newSecret() {
  const secret = `ubroc_${randomToken(32)}`;
  return { secret, hash: await sha256Hex(secret) };
}

export async function createClient(
  db: Databases,
  input: { name: string; type: 'confidential' | 'public'; redirectUris: string[]; scopes: string[] },
  createdBy: number,
): Promise<ClientView & { clientSecret?: string }> {
  const secret = input.type === 'confidential' ? await newSecret() : null;
  const [row] = await db.auth
    .insert(oauthClients)
    .values({ name: input.name, type: input.type, secretHash: secret?.hash ?? null, redirectUris: [...new Set(input.redirectUris)], scopes: [...new Set(input.scopes)], createdBy })
    .returning();
  return { ...view(row!), ...(secret ? { clientSecret: secret.secret } : {}) };
}

export async function listClients(db: Databases): Promise<ClientView[]> {
  const rows = await db.auth.select().from(oauthClients).where(isNull(oauthClients.deletedAt)).orderBy(desc(oauthClients.id)).limit(200);
  return rows.map(view);
}

export async function getClient(db: Databases, publicId: string): Promise<ClientView> {
  const row = await db.auth.select().from(oauthClients).where(and(eq(oauthClients.publicId, publicId), isNull(oauthClients.deletedAt))).get();
  if (!row) throw notFound();
  return view(row);
}

/** The old secret stops at once (one conditional UPDATE). */
export async function rotateSecret(db: Databases, publicId: string): Promise<string> {
  const row = await db.auth.select({ type: oauthClients.type }).from(oauthClients).where(and(eq(oauthClients.publicId, publicId), isNull(oauthClients.deletedAt))).get();
  if (!row) throw notFound();
  if (row.type === 'public') throw new AppError(422, 'OAUTH_CLIENT_PUBLIC');
  const secret = await newSecret();
  const done = await db.auth
    .update(oauthClients)
    .set({ secretHash: secret.hash })
    .where(and(eq(oauthClients.publicId, publicId), isNull(oauthClients.deletedAt)))
    .returning({ id: oauthClients.id });
  if (!done[0]) throw notFound();
  return secret.secret;
}

/** Soft delete: every token of the client stops at once (each use joins the live client). */
export async function deleteClient(db: Databases, publicId: string): Promise<void> {
  const done = await db.auth
    .update(oauthClients)
    .set({ deletedAt: new Date() })
    .where(and(eq(oauthClients.publicId, publicId), isNull(oauthClients.deletedAt)))
    .returning({ id: oauthClients.id });
  if (!done[0]) throw notFound();
}

export async function listGrants(db: Databases, userInternalId: number) {
  const rows = await db.auth
    .select({ grant: oauthGrants, clientId: oauthClients.publicId, clientName: oauthClients.name })
    .from(oauthGrants)
    .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
    .where(and(eq(oauthGrants.userId, userInternalId), isNull(oauthGrants.revokedAt), isNull(oauthClients.deletedAt)))
    .orderBy(desc(oauthGrants.id))
    .limit(200);
  return rows.map((r) => ({
    id: r.grant.publicId,
    client: { id: r.clientId, name: r.clientName },
    scopes: r.grant.scopes,
    createdAt: r.grant.createdAt.toISOString(),
    updatedAt: r.grant.updatedAt.toISOString(),
  }));
}

/** Revokes the user's grant and every token family under it, in one batch: the app's tokens stop at once. */
export async function revokeGrant(db: Databases, userInternalId: number, grantPublicId: string): Promise<void> {
  const grant = await db.auth
    .select({ id: oauthGrants.id })
    .from(oauthGrants)
    .where(and(eq(oauthGrants.publicId, grantPublicId), eq(oauthGrants.userId, userInternalId), isNull(oauthGrants.revokedAt)))
    .get();
  if (!grant) throw notFound();
  const now = new Date();
  await db.auth.batch([
    db.auth.update(oauthGrants).set({ revokedAt: now }).where(eq(oauthGrants.id, grant.id)),
    db.auth
      .update(oauthTokenFamilies)
      .set({ revokedAt: now, revokedReason: 'grant_revoked' })
      .where(and(eq(oauthTokenFamilies.grantId, grant.id), isNull(oauthTokenFamilies.revokedAt))),
  ]);
}
