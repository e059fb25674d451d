import * as z from 'zod/mini';
import { DEVICE_PLATFORMS, PUSH_PROVIDERS } from '../../db/schema/app';
import { SafeLine } from '../../queues/notification-message';
import type { AuditActionList } from '../../lib/audit';

export const DEVICES_AUDIT = ['device.register', 'device.delete'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    devices: (typeof DEVICES_AUDIT)[number];
  }
}

const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;
const FCM_TOKEN = /^[A-Za-z0-9_:-]{20,4096}$/;

export const RegisterDeviceBody = z
  .strictObject({
    platform: z.enum(DEVICE_PLATFORMS),
    /** Default: apns for ios, fcm otherwise (FCM also reaches iOS apps that use it). */
    provider: z.optional(z.enum(PUSH_PROVIDERS)),
    token: z.string().check(z.minLength(20, 'Token is too short'), z.maxLength(4096, 'Token is too long')),
    name: z.optional(SafeLine(100)),
  })
  .check(
    z.superRefine((b, ctx) => {
      const provider = b.provider ?? (b.platform === 'ios' ? 'apns' : 'fcm');
      if (provider === 'apns' && b.platform !== 'ios') ctx.issues.push({ code: 'custom', path: ['provider'], message: 'APNs serves iOS devices only', input: b });
      const ok = provider === 'apns' ? APNS_TOKEN.test(b.token) : FCM_TOKEN.test(b.token);
      if (!ok) ctx.issues.push({ code: 'custom', path: ['token'], message: provider === 'apns' ? 'APNs tokens are 64+ hex characters' : 'Invalid FCM registration token', input: b });
    }),
  );

export const DeviceResponse = z.object({
  id: z.string(),
  platform: z.enum(DEVICE_PLATFORMS),
  provider: z.enum(PUSH_PROVIDERS),
  name: z.nullable(z.string()),
  /** The last characters only: enough to recognise a device, useless to send to it. */
  tokenSuffix: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
});
export const DeviceList = z.object({ data: z.array(DeviceResponse) });
export const DeviceIdParams = z.object({ id: z.uuid({ error: 'Invalid device id' }) });
