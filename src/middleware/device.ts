import type { Context } from 'hono';
import { audit } from '../lib/audit';
import { getConfig } from '../lib/config';
import type { AppEnv } from '../lib/factory';
import { accountHash, verifyDeviceToken, type DeviceClaims } from '../security/device-token';

export interface DeviceVariables {
  /** The request's device token, once checked: claims when valid for the account, else null. */
  device?: DeviceClaims | null;
}

/**
 * The device token of a sign-in attempt (`deviceToken` in the JSON body), verified once per
 * request (signature, expiry, and its binding to the account named by `email`). A token that is
 * present but does not check out is audited (forged, expired, or another account's) and the
 * attempt counts as an untrusted one.
 * @example const device = await trustedDevice(c, email)
 */
export async function trustedDevice(c: Context<AppEnv>, email: string): Promise<DeviceClaims | null> {
  if (c.var.device !== undefined) return c.var.device;
  const raw = (c.var.jsonBody as { deviceToken?: unknown } | undefined)?.deviceToken;
  let device: DeviceClaims | null = null;
  if (raw !== undefined) {
    const config = getConfig(c.env);
    const claims = await verifyDeviceToken(c.env.DEVICE_TOKEN_SECRET, config.jwtIssuer, raw);
    if (claims && claims.accountHash === (await accountHash(email))) device = claims;
    else audit(c, { action: 'auth.device_token_invalid', outcome: 'failure', level: 'warn', details: { route: c.req.routePath, reason: claims ? 'other_account' : 'invalid' } });
  }
  c.set('device', device);
  return device;
}
