import { inArray, lt } from 'drizzle-orm';
import type { AppDb } from '../../db/client';
import { devices } from '../../db/schema/app';

/** Push tokens not seen since `before`, at most `limit` (index on last_seen_at). */
export function deleteDevicesUnseenSince(db: AppDb, before: Date, limit: number): Promise<D1Result> {
  const batch = db.select({ id: devices.id }).from(devices).where(lt(devices.lastSeenAt, before)).limit(limit);
  return db.delete(devices).where(inArray(devices.id, batch));
}
