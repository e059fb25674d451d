import { createFactory } from 'hono/factory';
import { createDatabases, type Databases } from '../db/client';
import type { AuthVariables } from '../middleware/auth';
import type { BodyVariables } from '../middleware/body';
import type { RequestIdVariables } from '../middleware/request-id';

export interface AppVariables extends RequestIdVariables, AuthVariables, BodyVariables {
  db: Databases;
}

export interface AppEnv {
  Bindings: CloudflareBindings;
  Variables: AppVariables;
}

/** One factory so every sub-app shares the same generics; `db` is on `c.var` for every handler. */
export const factory = createFactory<AppEnv>({
  initApp: (app) => {
    app.use(async (c, next) => {
      c.set('db', createDatabases(c.env));
      await next();
    });
  },
});
