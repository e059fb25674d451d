import { createMiddleware } from 'hono/factory';
import { createDatabases } from '../db/client';
import type { AppEnv } from '../lib/factory';

/**
 * Puts the Drizzle clients of the three databases on `c.var.db`, once per request, at the root.
 * @example app.use(databases()).get('/x', (c) => c.json(await c.var.db.app.select()...))
 */
export const databases = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('db', createDatabases(c.env));
    await next();
  });
