import { createMiddleware } from 'hono/factory';
import { compareVersions, PLATFORM, VERSION } from '../features/client-versions/client-versions.schemas';
import { policyFor } from '../features/client-versions/client-versions.service';
import { AppError, type ErrorDetail } from '../lib/errors';
import type { AppEnv } from '../lib/factory';

/** Paths a client below the minimum can still reach: to learn the policy, and liveness. */
export const EXEMPT = new Set(['/api/v1/client-versions', '/api/v1/health']);

/**
 * Client version gate. With `X-Client-Platform` and `X-Client-Version`: below the platform's
 * minimum → 426 UPGRADE_REQUIRED; below its latest → `X-Client-Update: soft` on the response.
 * Malformed headers are a 400; no headers, or no policy for the platform, pass untouched.
 * @example app.use('/api/*', clientVersion())
 */
export const clientVersion = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const platformHeader = c.req.header('X-Client-Platform');
    const version = c.req.header('X-Client-Version')?.trim();
    if (platformHeader === undefined && version === undefined) return next();
    const platform = platformHeader?.trim().toLowerCase();
    const details: ErrorDetail[] = [];
    if (!platform || !PLATFORM.test(platform)) details.push({ field: 'X-Client-Platform', message: 'Expected a platform name, e.g. ios' });
    if (!version || !VERSION.test(version)) details.push({ field: 'X-Client-Version', message: 'Expected a version, e.g. 2.10.3' });
    if (details.length > 0) throw new AppError(400, 'VALIDATION_ERROR', { details });
    const policy = await policyFor(c.var.db, c.env.CACHE, platform!);
    if (policy && compareVersions(version!, policy.minVersion) < 0 && !EXEMPT.has(c.req.path)) {
      throw new AppError(426, 'UPGRADE_REQUIRED', {
        message: `This ${platform} version is no longer supported: update to ${policy.latestVersion} or later`,
        headers: { 'X-Client-Update': 'hard', ...(policy.updateUrl ? { 'X-Client-Update-Url': policy.updateUrl } : {}) },
      });
    }
    await next();
    if (policy && compareVersions(version!, policy.latestVersion) < 0) {
      c.header('X-Client-Update', compareVersions(version!, policy.minVersion) < 0 ? 'hard' : 'soft');
      if (policy.updateUrl) c.header('X-Client-Update-Url', policy.updateUrl);
    }
  });
