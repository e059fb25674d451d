import { createFactory } from 'hono/factory';
import type { Databases } from '../db/client';
import type { AuthVariables } from '../middleware/auth';
import type { BodyVariables } from '../middleware/body';
import type { DeviceVariables } from '../middleware/device';
import type { RequestIdVariables } from '../middleware/request-id';

export interface AppVariables extends RequestIdVariables, AuthVariables, BodyVariables, DeviceVariables {
  db: Databases;
}

export interface AppEnv {
  Bindings: CloudflareBindings;
  Variables: AppVariables;
}

/** One factory so every sub-app shares the same generics (`db` is set once, at the root: see app.ts). */
export const factory = createFactory<AppEnv>({
  // `/users/me/` is `/users/me`: a trailing slash never turns a valid call into a 404.
  defaultAppOptions: { strict: false },
});
