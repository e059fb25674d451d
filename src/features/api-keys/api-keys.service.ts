import { and, desc, eq, gt, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { uuidv7 } from '../../lib/uuid';
import type { Databases } from '../../db/client';
import { apiKeys, users } from '../../db/schema/auth';
import { AppError, notFound } from '../../lib/errors';
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

/**
 * The live keys of one user, counted inside the statement that inserts: D1 runs each statement
 * (and each batch) alone, so parallel creates cannot all pass the cap, as a count read first would.
 */
const liveCountBelowCap = (userId: number, now: Date) =>
  sql`(SELECT count(*) FROM ${apiKeys} WHERE ${apiKeys.userId} = ${userId} AND ${apiKeys.revokedAt} IS NULL AND (${apiKeys.expiresAt} IS NULL OR ${apiKeys.expiresAt} > ${now.getTime()})) < ${MAX_KEYS_PER_USER}`;

type SqlValue = SQL | SQLiteColumn | string | number;

/**
 * A new key as the SELECT list of an INSERT … SELECT (the table's columns, in order), so the
 * condition that allows it (cap, old key still live) sits in the same statement.
 */
function newKeySelection(now: Date, v: { userId: SqlValue; name: SqlValue; prefix: string; hash: string; permissions: string[]; expiresAt: SqlValue }) {
  return {
    id: sql<number>`NULL`.as('id'),
    publicId: sql<string>`${uuidv7()}`.as('public_id'),
    createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
    updatedAt: sql<Date>`${now.getTime()}`.as('updated_at'),
    userId: sql<number>`${v.userId}`.as('user_id'),
    name: sql<string>`${v.name}`.as('name'),
    prefix: sql<string>`${v.prefix}`.as('prefix'),
    keyHash: sql<string>`${v.hash}`.as('key_hash'),
    permissions: sql<string[]>`${JSON.stringify([...new Set(v.permissions)])}`.as('permissions'),
    expiresAt: sql<Date>`${v.expiresAt}`.as('expires_at'),
    lastUsedAt: sql<Date>`NULL`.as('last_used_at'),
    revokedAt: sql<Date>`NULL`.as('revoked_at'),
  };
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
  const { key, prefix, hash } = await generateApiKey();
  const [row] = await db.auth
    .insert(apiKeys)
    .select(
      db.auth
        .select(newKeySelection(now, { userId: users.id, name: input.name, prefix, hash, permissions: input.permissions, expiresAt: now.getTime() + (input.expiresInDays ?? 90) * DAY_MS }))
        .from(users)
        .where(and(eq(users.id, owner.userInternalId), liveCountBelowCap(owner.userInternalId, now))),
    )
    .returning();
  if (!row) throw new AppError(422, 'BUSINESS_RULE', { message: `At most ${MAX_KEYS_PER_USER} active API keys` });
  return { ...toKeyView(row), key };
}

export async function revokeKey(db: Databases, userId: number, publicId: string): Promise<void> {
  const res = await db.auth
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.publicId, publicId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (res.length === 0) throw notFound();
}

/**
 * Rotation: a new secret under a new id with the same name, scope and remaining lifetime. One
 * batch (one transaction) inserts the new key only while the old one is still live, then revokes
 * the old one: of parallel rotations of a key exactly one succeeds, the others find it revoked
 * (404), so exactly one key works afterwards.
 */
export async function rotateKey(db: Databases, owner: { userInternalId: number; permissions: Set<string> }, publicId: string) {
  const now = new Date();
  const old = await db.auth
    .select({ id: apiKeys.id, permissions: apiKeys.permissions })
    .from(apiKeys)
    .where(and(eq(apiKeys.publicId, publicId), eq(apiKeys.userId, owner.userInternalId), live(now)))
    .get();
  if (!old) throw notFound();
  const { key, prefix, hash } = await generateApiKey();
  const permissions = old.permissions.filter((p) => owner.permissions.has(p));
  const stillLive = and(eq(apiKeys.id, old.id), live(now));
  const [inserted] = await db.auth.batch([
    db.auth
      .insert(apiKeys)
      .select(
        db.auth
          .select(newKeySelection(now, { userId: apiKeys.userId, name: apiKeys.name, prefix, hash, permissions, expiresAt: apiKeys.expiresAt }))
          .from(apiKeys)
          .where(stillLive),
      )
      .returning(),
    db.auth.update(apiKeys).set({ revokedAt: now }).where(stillLive),
  ]);
  if (!inserted[0]) throw notFound();
  return { ...toKeyView(inserted[0]), key };
}
