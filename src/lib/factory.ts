import { createFactory } from 'hono/factory';
import type { Databases } from '../db/client';

/**
 * What `c.var` holds. The middleware's `XxxVariables` types join this interface by declaration
 * merging in src/middleware/app-variables.ts, so lib/ never imports middleware/ or features/.
 */
export interface AppVariables {
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
