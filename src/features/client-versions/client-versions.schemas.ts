import * as z from 'zod/mini';
import { definePermissions } from '../../lib/permissions';

export const CLIENT_VERSIONS_PERMISSIONS = definePermissions(['config:write']);

declare module '../../lib/permissions' {
  interface FeaturePermissions {
    'clientVersions': (typeof CLIENT_VERSIONS_PERMISSIONS)[number];
  }
}

export const PLATFORM = /^[a-z][a-z0-9_-]{0,31}$/;
export const VERSION = /^\d{1,6}(?:\.\d{1,6}){0,3}$/;

export const Platform = z.string().check(z.regex(PLATFORM, 'Platform: lowercase letters, digits, - and _ (max 32)'));
export const Version = z.string().check(z.regex(VERSION, 'Version: 1 to 4 dot-separated numbers, e.g. 2.10.3'));

export const PolicyBody = z
  .strictObject({
    minVersion: Version,
    latestVersion: Version,
    updateUrl: z.optional(z.nullable(z.url({ protocol: /^https?$/, error: 'Must be an http(s) URL' }).check(z.maxLength(2048)))),
  })
  .check(
    z.refine((b) => compareVersions(b.minVersion, b.latestVersion) <= 0, { message: 'minVersion must not be above latestVersion', path: ['minVersion'] }),
  );

export const PlatformParams = z.object({ platform: Platform });

export const PolicyResponse = z.object({ platform: z.string(), minVersion: z.string(), latestVersion: z.string(), updateUrl: z.nullable(z.string()), updatedAt: z.string() });
export const PolicyList = z.object({ data: z.array(PolicyResponse) });

/** Numeric, part by part; missing parts count as 0 (2.1 == 2.1.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
