import { and, desc, eq, inArray } from 'drizzle-orm';
import type * as z from 'zod/mini';
import type { Databases } from '../../db/client';
import { devices } from '../../db/schema/app';
import type { DeviceResponse, RegisterDeviceBody } from './devices.schemas';

/** Devices kept per user; registering one more forgets the least recently seen. */
export const MAX_DEVICES_PER_USER = 20;

type Row = typeof devices.$inferSelect;

export function toDeviceView(r: Row): z.infer<typeof DeviceResponse> {
  return { id: r.publicId, platform: r.platform, provider: r.provider, name: r.name, tokenSuffix: r.token.slice(-6), createdAt: r.createdAt.toISOString(), lastSeenAt: r.lastSeenAt.toISOString() };
}

/**
 * Registers (or refreshes) a push token for the caller. A token is unique per provider: when
 * it was registered by another user (the device changed hands), it moves to the caller, so
 * the previous owner's notifications stop reaching this device.
 */
export async function registerDevice(db: Databases, userPublicId: string, body: z.infer<typeof RegisterDeviceBody>) {
  const provider = body.provider ?? (body.platform === 'ios' ? 'apns' : 'fcm');
  const now = new Date();
  const previous = await db.app.select({ userPublicId: devices.userPublicId }).from(devices).where(and(eq(devices.provider, provider), eq(devices.token, body.token))).get();
  const [row] = await db.app
    .insert(devices)
    .values({ userPublicId, platform: body.platform, provider, token: body.token, name: body.name ?? null, lastSeenAt: now, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [devices.provider, devices.token], set: { userPublicId, platform: body.platform, name: body.name ?? null, lastSeenAt: now, updatedAt: now } })
    .returning();
  const extra = await db.app
    .select({ id: devices.id })
    .from(devices)
    .where(eq(devices.userPublicId, userPublicId))
    .orderBy(desc(devices.lastSeenAt), desc(devices.id))
    .limit(50)
    .offset(MAX_DEVICES_PER_USER);
  if (extra.length > 0) await db.app.delete(devices).where(inArray(devices.id, extra.map((e) => e.id)));
  return { device: toDeviceView(row!), created: !previous, movedFromAnotherUser: previous !== undefined && previous.userPublicId !== userPublicId };
}

export async function listDevices(db: Databases, userPublicId: string) {
  const rows = await db.app.select().from(devices).where(eq(devices.userPublicId, userPublicId)).orderBy(desc(devices.lastSeenAt)).limit(MAX_DEVICES_PER_USER);
  return rows.map(toDeviceView);
}

/** Deletes one of the caller's devices; false when it is not theirs (answered as 404). */
export async function deleteDevice(db: Databases, userPublicId: string, id: string): Promise<boolean> {
  const res = await db.app.delete(devices).where(and(eq(devices.publicId, id), eq(devices.userPublicId, userPublicId))).returning({ id: devices.id });
  return res.length > 0;
}
