import { asc, eq } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { clientVersions } from '../../db/schema/app';
import { AppError } from '../../lib/errors';
import { log } from '../../lib/log';

export interface Policy {
  platform: string;
  minVersion: string;
  latestVersion: string;
  updateUrl: string | null;
  updatedAt: string;
}

/** KV key `client-version:{platform}`: the policy JSON, or "none". TTL 300 s (KV's floor is 60 s). */
export const KV_PREFIX = 'client-version:';
const KV_TTL_SECONDS = 300;
/** In-isolate copy: most requests never reach KV. */
const LOCAL_TTL_MS = 30_000;
const local = new Map<string, { policy: Policy | null; until: number }>();

function toPolicy(r: typeof clientVersions.$inferSelect): Policy {
  return { platform: r.platform, minVersion: r.minVersion, latestVersion: r.latestVersion, updateUrl: r.updateUrl, updatedAt: r.updatedAt.toISOString() };
}

export async function listPolicies(db: Databases): Promise<Policy[]> {
  return (await db.app.select().from(clientVersions).orderBy(asc(clientVersions.platform)).limit(100)).map(toPolicy);
}

/**
 * The policy for a platform: isolate cache (30 s), then KV (read-mostly cache), then APP_DB (the
 * source of truth). A change reaches every location within the KV and isolate TTLs (≤ ~6 min,
 * immediately in the isolate that made it).
 */
export async function policyFor(db: Databases, kv: KVNamespace, platform: string, now = Date.now()): Promise<Policy | null> {
  const hit = local.get(platform);
  if (hit && hit.until > now) return hit.policy;
  let policy: Policy | null | undefined;
  try {
    const cached = await kv.get(`${KV_PREFIX}${platform}`);
    if (cached !== null) policy = cached === 'none' ? null : (JSON.parse(cached) as Policy);
  } catch (err) {
    log('warn', 'client version cache read failed', { error: String(err) });
  }
  if (policy === undefined) {
    const row = await db.app.select().from(clientVersions).where(eq(clientVersions.platform, platform)).get();
    policy = row ? toPolicy(row) : null;
    await kv.put(`${KV_PREFIX}${platform}`, policy ? JSON.stringify(policy) : 'none', { expirationTtl: KV_TTL_SECONDS }).catch(() => {});
  }
  local.set(platform, { policy, until: now + LOCAL_TTL_MS });
  return policy;
}

export async function putPolicy(db: Databases, kv: KVNamespace, platform: string, input: { minVersion: string; latestVersion: string; updateUrl?: string | null }): Promise<Policy> {
  const now = new Date();
  const [row] = await db.app
    .insert(clientVersions)
    .values({ platform, minVersion: input.minVersion, latestVersion: input.latestVersion, updateUrl: input.updateUrl ?? null, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: clientVersions.platform, set: { minVersion: input.minVersion, latestVersion: input.latestVersion, updateUrl: input.updateUrl ?? null, updatedAt: now } })
    .returning();
  const policy = toPolicy(row!);
  local.set(platform, { policy, until: Date.now() + LOCAL_TTL_MS });
  await kv.put(`${KV_PREFIX}${platform}`, JSON.stringify(policy), { expirationTtl: KV_TTL_SECONDS });
  return policy;
}

export async function deletePolicy(db: Databases, kv: KVNamespace, platform: string): Promise<void> {
  const res = await db.app.delete(clientVersions).where(eq(clientVersions.platform, platform)).returning({ id: clientVersions.id });
  if (res.length === 0) throw new AppError(404, 'NOT_FOUND');
  local.set(platform, { policy: null, until: Date.now() + LOCAL_TTL_MS });
  await kv.put(`${KV_PREFIX}${platform}`, 'none', { expirationTtl: KV_TTL_SECONDS });
}
