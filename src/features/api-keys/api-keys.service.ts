import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { apiKeys } from '../../db/schema/auth';
import { AppError } from '../../lib/errors';
import { generateApiKey } from '../../security/api-key';

export const MAX_KEYS_PER_USER = 20;
const DAY_MS = 86_400_000;

type KeyRow = typeof apiKeys.$inferSelect;

export function toKeyView(k: KeyRow) {
  return {
    id: k.publicId,
    name: k.name,
    prefix: `ubr_${k.prefix}`,
    permissions: [...k.permissions].sort(),
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt ? k.expiresAt.toISOString() : null,
    lastUsedAt: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
  };
}

const live = (now: Date) => and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));

export async function listKeys(db: Databases, userId: number) {
  const rows = await db.auth.select().from(apiKeys).where(and(eq(apiKeys.userId, userId), live(new Date()))).orderBy(desc(apiKeys.id)).limit(MAX_KEYS_PER_USER);
  return rows.map(toKeyView);
}

/** A key can only carry permissions its creator holds (no escalation through keys). */
export async function createKey(
  db: Databases,
  owner: { userInternalId: number; permissions: Set<string> },
  input: { name: string; permissions: string[]; expiresInDays?: number },
) {
  const missing = input.permissions.filter((p) => !owner.permissions.has(p));
  if (missing.length > 0) throw new AppError(403, 'FORBIDDEN', { message: `You do not hold: ${missing.join(', ')}` });
  const now = new Date();
  const count = await db.auth.$count(apiKeys, and(eq(apiKeys.userId, owner.userInternalId), live(now)));
  if (count >= MAX_KEYS_PER_USER) throw new AppError(422, 'BUSINESS_RULE', { message: `At most ${MAX_KEYS_PER_USER} active API keys` });
  const { key, prefix, hash } = await generateApiKey();
  const [row] = await db.auth
    .insert(apiKeys)
    .values({
      userId: owner.userInternalId,
      name: input.name,
      prefix,
      keyHash: hash,
      permissions: [...new Set(input.permissions)],
      expiresAt: new Date(now.getTime() + (input.expiresInDays ?? 90) * DAY_MS),
    })
    .returning();
  return { ...toKeyView(row!), key };
}

export async function revokeKey(db: Databases, userId: number, publicId: string): Promise<void> {
  const res = await db.auth
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.publicId, publicId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (res.length === 0) throw new AppError(404, 'NOT_FOUND');
}

/**
 * Rotation: a new secret under a new id with the same name, scope and remaining lifetime; the old
 * key is revoked in the same batch, so exactly one of the two works afterwards.
 */
export async function rotateKey(db: Databases, owner: { userInternalId: number; permissions: Set<string> }, publicId: string) {
  const now = new Date();
  const old = await db.auth
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.publicId, publicId), eq(apiKeys.userId, owner.userInternalId), live(now)))
    .get();
  if (!old) throw new AppError(404, 'NOT_FOUND');
  const { key, prefix, hash } = await generateApiKey();
  const permissions = old.permissions.filter((p) => owner.permissions.has(p));
  const [, inserted] = await db.auth.batch([
    db.auth.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.id, old.id), isNull(apiKeys.revokedAt))),
    db.auth.insert(apiKeys).values({ userId: owner.userInternalId, name: old.name, prefix, keyHash: hash, permissions, expiresAt: old.expiresAt }).returning(),
  ]);
  return { ...toKeyView(inserted[0]!), key };
}
