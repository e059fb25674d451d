import { asc, eq, ne } from 'drizzle-orm';
import type { Databases } from '../../db/client';
import { clientVersions } from '../../db/schema/app';
import { AppError, notFound } from '../../lib/errors';
import { log } from '../../lib/log';

export interface Policy {
  platform: string;
  minVersion: string;
  latestVersion: string;
  updateUrl: string | null;
  updatedAt: string;
}

/**
 * KV key `client-versions:all`: every policy, as one JSON list. TTL 300 s (KV's floor is 60 s).
 * One key for all platforms: a single read answers any `X-Client-Platform`, known or not, so a
 * flood of made-up platform names costs no storage read at all.
 */
export const KV_KEY = 'client-versions:all';
const KV_TTL_SECONDS = 300;
/** In-isolate copy: most requests never reach KV. */
const LOCAL_TTL_MS = 30_000;
/**
 * Policies are configuration, a handful of platforms: a new platform beyond this is refused, so
 * the list (in KV and in every isolate's memory) stays small however it is used.
 */
export const MAX_PLATFORMS = 100;

let local: { byPlatform: Map<string, Policy>; until: number } | null = null;
// Concurrent requests of a cold isolate share one load instead of each reading KV.
let loading: Promise<void> | null = null;

function remember(policies: Policy[], now: number): void {
  local = { byPlatform: new Map(policies.slice(0, MAX_PLATFORMS).map((p) => [p.platform, p])), until: now + LOCAL_TTL_MS };
}

/** Tests only: forget the isolate copy (the next lookup reads KV again). */
export function forgetLocalPolicies(): void {
  local = null;
}

function toPolicy(r: typeof clientVersions.$inferSelect): Policy {
  return { platform: r.platform, minVersion: r.minVersion, latestVersion: r.latestVersion, updateUrl: r.updateUrl, updatedAt: r.updatedAt.toISOString() };
}

export async function listPolicies(db: Databases): Promise<Policy[]> {
  return (await db.app.select().from(clientVersions).orderBy(asc(clientVersions.platform)).limit(MAX_PLATFORMS)).map(toPolicy);
}

/** Re-reads the source of truth and republishes the list (after an admin change, or a KV miss). */
async function publish(db: Databases, kv: KVNamespace, now: number): Promise<Policy[]> {
  const policies = await listPolicies(db);
  remember(policies, now);
  await kv.put(KV_KEY, JSON.stringify(policies), { expirationTtl: KV_TTL_SECONDS }).catch((err: unknown) => log('warn', 'client version cache write failed', { error: String(err) }));
  return policies;
}

async function load(db: Databases, kv: KVNamespace, now: number): Promise<void> {
  try {
    const cached = await kv.get<unknown>(KV_KEY, 'json');
    if (Array.isArray(cached)) return remember(cached as Policy[], now);
  } catch (err) {
    log('warn', 'client version cache read failed', { error: String(err) });
  }
  await publish(db, kv, now);
}

/**
 * The policy for a platform: isolate copy of the whole list (30 s), then KV (one key), then
 * APP_DB (the source of truth). A platform without a policy is answered from the same copy, so
 * it never causes a lookup of its own. A change reaches every location within the KV and
 * isolate TTLs (≤ ~6 min, immediately in the isolate that made it).
 */
export async function policyFor(db: Databases, kv: KVNamespace, platform: string, now = Date.now()): Promise<Policy | null> {
  if (!local || local.until <= now) {
    loading ??= load(db, kv, now).finally(() => {
      loading = null;
    });
    await loading;
  }
  return local?.byPlatform.get(platform) ?? null;
}

export async function putPolicy(db: Databases, kv: KVNamespace, platform: string, input: { minVersion: string; latestVersion: string; updateUrl?: string | null }): Promise<Policy> {
  // Approximate under concurrent admin writes, which is enough: the lists read back are capped.
  if ((await db.app.$count(clientVersions, ne(clientVersions.platform, platform))) >= MAX_PLATFORMS) {
    throw new AppError(422, 'BUSINESS_RULE', { message: `At most ${MAX_PLATFORMS} platforms have a policy` });
  }
  const now = new Date();
  const values = { minVersion: input.minVersion, latestVersion: input.latestVersion, updateUrl: input.updateUrl ?? null, updatedAt: now };
  const [row] = await db.app
    .insert(clientVersions)
    .values({ platform, createdAt: now, ...values })
    .onConflictDoUpdate({ target: clientVersions.platform, set: values })
    .returning();
  await publish(db, kv, Date.now());
  return toPolicy(row!);
}

export async function deletePolicy(db: Databases, kv: KVNamespace, platform: string): Promise<void> {
  const res = await db.app.delete(clientVersions).where(eq(clientVersions.platform, platform)).returning({ id: clientVersions.id });
  if (res.length === 0) throw notFound();
  await publish(db, kv, Date.now());
}
