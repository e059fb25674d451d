import { and, eq, isNull, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Databases } from '../../db/client';
import { isUniqueViolation } from '../../db/errors';
import { profiles } from '../../db/schema/app';
import { roles, userRoles, users } from '../../db/schema/auth';
import { uuidv7 } from '../../lib/uuid';
import { AppError } from '../../lib/errors';
import { log } from '../../lib/log';
import { verifyPassword } from '../../security/password';
import { emailTaken } from '../auth/auth.errors';

export interface UserView {
  id: string;
  email: string;
  fullName: string | null;
  emailVerified: boolean;
  roles: string[];
  createdAt: string;
  updatedAt: string;
  deletedAt?: string | null;
}

export interface NewUser {
  publicId: string;
  email: string;
  passwordHash: string;
  fullName: string | null;
  roleName: string;
  /** More AUTH_DB statements committed in the same batch (e.g. the first session). */
  extra?: BatchItem<'sqlite'>[];
}


/**
 * Creates the credentials (AUTH_DB) and the profile (APP_DB). The databases share no
 * transaction, so the order is: profile first (invisible on its own: every read starts from
 * AUTH_DB), then the user, role link and session in one AUTH_DB batch. If that batch fails, the
 * profile is deleted again; if even that fails, the orphan stays invisible and the cleanup cron
 * removes it. A user is therefore never visible without a profile, nor a profile without a user.
 */
export async function createUserWithProfile(db: Databases, input: NewUser): Promise<UserView> {
  const now = new Date();
  await db.app
    .insert(profiles)
    .values({ userPublicId: input.publicId, fullName: input.fullName, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: profiles.userPublicId, set: { fullName: input.fullName, deletedAt: null, updatedAt: now } });
  try {
    await db.auth.batch([
      db.auth.insert(users).values({ publicId: input.publicId, email: input.email, passwordHash: input.passwordHash, createdAt: now, updatedAt: now }),
      db.auth.insert(userRoles).select(
        db.auth
          .select({
            id: sql<number>`NULL`.as('id'),
            publicId: sql<string>`${uuidv7()}`.as('public_id'),
            createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
            updatedAt: sql<Date>`${now.getTime()}`.as('updated_at'),
            userId: users.id,
            roleId: roles.id,
          })
          .from(users)
          .innerJoin(roles, eq(roles.name, input.roleName))
          .where(eq(users.publicId, input.publicId)),
      ),
      ...(input.extra ?? []),
    ] as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  } catch (err) {
    await db.app
      .delete(profiles)
      .where(eq(profiles.userPublicId, input.publicId))
      .catch((cleanupErr: unknown) => log('error', 'profile compensation failed; cron will remove it', { error: String(cleanupErr) }));
    if (isUniqueViolation(err)) throw emailTaken();
    throw err;
  }
  return {
    id: input.publicId,
    email: input.email,
    fullName: input.fullName,
    emailVerified: false,
    roles: [input.roleName],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

const roleNames = sql<string | null>`(SELECT group_concat(r.name, ',') FROM ${userRoles} ur JOIN ${roles} r ON r.id = ur.role_id WHERE ur.user_id = "users"."id")`;

export const userColumns = {
  internalId: users.id,
  publicId: users.publicId,
  email: users.email,
  emailVerifiedAt: users.emailVerifiedAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  deletedAt: users.deletedAt,
  roleNames,
};

export type UserRow = {
  publicId: string;
  email: string;
  emailVerifiedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  roleNames: string | null;
};

export function toUserView(row: UserRow, fullName: string | null, withDeleted = false): UserView {
  const view: UserView = {
    id: row.publicId,
    email: row.email,
    fullName,
    emailVerified: row.emailVerifiedAt !== null,
    roles: row.roleNames ? row.roleNames.split(',').sort() : [],
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
  if (withDeleted) view.deletedAt = row.deletedAt ? row.deletedAt.toISOString() : null;
  return view;
}

/** Profiles for a set of users; a missing one is recreated (self-repair), never shown as absent. */
export async function loadProfiles(db: Databases, publicIds: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (publicIds.length === 0) return out;
  const rows = await db.app
    .select({ userPublicId: profiles.userPublicId, fullName: profiles.fullName })
    .from(profiles)
    .where(sql`${profiles.userPublicId} IN ${publicIds}`);
  for (const r of rows) out.set(r.userPublicId, r.fullName);
  const missing = publicIds.filter((id) => !out.has(id));
  if (missing.length > 0) {
    log('warn', 'repairing missing profiles', { count: missing.length });
    const now = new Date();
    await db.app
      .insert(profiles)
      .values(missing.map((userPublicId) => ({ userPublicId, createdAt: now, updatedAt: now })))
      .onConflictDoNothing();
    for (const id of missing) out.set(id, null);
  }
  return out;
}

/**
 * Re-checks a signed-in user's password before a sensitive change (password, email, MFA).
 * A wrong one is a 400 on `field`, with `message`, and costs a full hash either way.
 */
export async function requireCurrentPassword(db: Databases, userInternalId: number, password: string, field = 'password', message = 'Password is incorrect'): Promise<void> {
  const row = await db.auth.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userInternalId)).get();
  if (!row || !(await verifyPassword(password, row.hash))) {
    throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field, message }] });
  }
}

/** The profile's display name, or undefined when there is no profile (read only, no repair). */
export async function readProfileName(db: Databases, publicId: string): Promise<{ fullName: string | null } | undefined> {
  return db.app.select({ fullName: profiles.fullName }).from(profiles).where(eq(profiles.userPublicId, publicId)).get();
}

export async function loadUserView(db: Databases, publicId: string, options: { includeDeleted?: boolean } = {}): Promise<UserView | null> {
  const where = options.includeDeleted ? eq(users.publicId, publicId) : and(eq(users.publicId, publicId), isNull(users.deletedAt));
  const [row, profile] = await Promise.all([
    db.auth.select(userColumns).from(users).where(where).get(),
    db.app.select({ fullName: profiles.fullName }).from(profiles).where(eq(profiles.userPublicId, publicId)).get(),
  ]);
  if (!row) return null;
  const fullName = profile ? profile.fullName : ((await loadProfiles(db, [publicId])).get(publicId) ?? null);
  return toUserView(row, fullName, options.includeDeleted);
}
