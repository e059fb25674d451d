import { eq } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { roles, userRoles, users } from '../../db/schema/auth';
import type { CallerAnswer, CheckCall } from '../../durable-objects/user-state';
import { AppError } from '../../lib/errors';
import { log } from '../../lib/log';

type UserStateEnv = Pick<CloudflareBindings, 'USER_STATE'>;

/** Holds are placed this many objects at a time (a role edit reaches every holder). */
const FAN_OUT = 50;
/** Retry-After on the 503 when a hold cannot be placed (nothing was written). */
const HOLD_RETRY_AFTER_S = 2;

function stub(env: UserStateEnv, userPublicId: string) {
  return env.USER_STATE.get(env.USER_STATE.idFromName(userPublicId));
}

/** The hot path's one storage round trip: session liveness, caller, profile, standard-tier count. */
export function checkCaller(env: UserStateEnv, call: CheckCall): Promise<CallerAnswer | null> {
  return stub(env, call.userId).check(call);
}

async function eachUser(ids: string[], fn: (id: string) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const out: PromiseSettledResult<void>[] = [];
  for (let i = 0; i < ids.length; i += FAN_OUT) out.push(...(await Promise.allSettled(ids.slice(i, i + FAN_OUT).map(fn))));
  return out;
}

async function releaseAll(env: UserStateEnv, ids: string[], token: string): Promise<void> {
  const failed = (await eachUser(ids, (id) => stub(env, id).release(token))).filter((r) => r.status === 'rejected').length;
  // The hold lapses by itself (HOLD_MS); until then those users' checks read D1: safe, slower.
  if (failed > 0) log('warn', 'user state release failed; the hold lapses', { failed, of: ids.length });
}

/**
 * Runs a write that can change what the hot path answers for these users (revocation, deletion,
 * password, roles, profile): first a hold on each user's UserState object (cache emptied,
 * nothing cached while it is open), then the write, then the release (the next request reads
 * D1 and sees the write). Fail closed: when a hold cannot be placed the write does not run and
 * the caller gets 503 (nothing written); when a release cannot be delivered the hold lapses
 * after HOLD_MS, and until then the user is read from D1 on every request.
 * @example await changingUsers(c.env, [auth.userId], () => service.revokeSession(db, sid, 'logout'))
 */
export async function changingUsers<T>(env: UserStateEnv, userPublicIds: readonly (string | null | undefined)[], write: () => Promise<T>): Promise<T> {
  const ids = [...new Set(userPublicIds.filter((id): id is string => typeof id === 'string' && id.length > 0))];
  if (ids.length === 0) return write();
  const token = crypto.randomUUID();
  const held = await eachUser(ids, (id) => stub(env, id).hold(token));
  const refused = held.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    await releaseAll(env, ids, token);
    throw new AppError(503, 'SERVICE_UNAVAILABLE', { reason: 'user state unavailable: write not attempted', headers: { 'Retry-After': String(HOLD_RETRY_AFTER_S) }, cause: refused.reason });
  }
  try {
    return await write();
  } finally {
    await releaseAll(env, ids, token);
  }
}

/** The public ids of a user by internal id (services that know only the internal id). */
export async function publicIdOf(db: Databases, userInternalId: number): Promise<string | null> {
  const row = await db.auth.select({ publicId: users.publicId }).from(users).where(eq(users.id, userInternalId)).get();
  return row?.publicId ?? null;
}

/** Everyone who holds a role (by the role's public id): a role edit changes all their answers. */
export async function roleHolders(db: Databases, rolePublicId: string): Promise<string[]> {
  const rows = await db.auth
    .select({ publicId: users.publicId })
    .from(userRoles)
    .innerJoin(roles, eq(roles.id, userRoles.roleId))
    .innerJoin(users, eq(users.id, userRoles.userId))
    .where(eq(roles.publicId, rolePublicId));
  return rows.map((r) => r.publicId);
}

/** A display-only change (e.g. email verified): best effort, the next request reads D1. */
export async function forgetUsers(env: UserStateEnv, userPublicIds: readonly (string | null | undefined)[]): Promise<void> {
  const ids = [...new Set(userPublicIds.filter((id): id is string => typeof id === 'string' && id.length > 0))];
  const failed = (await eachUser(ids, (id) => stub(env, id).forget())).filter((r) => r.status === 'rejected').length;
  if (failed > 0) log('warn', 'user state forget failed', { failed, of: ids.length });
}
