import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as appSchema from './schema/app';
import * as authSchema from './schema/auth';
import * as logsSchema from './schema/logs';

export type AuthDb = DrizzleD1Database<typeof authSchema>;
export type AppDb = DrizzleD1Database<typeof appSchema>;
export type LogsDb = DrizzleD1Database<typeof logsSchema>;

export interface Databases {
  auth: AuthDb;
  app: AppDb;
  logs: LogsDb;
}

type DbBindings = Pick<CloudflareBindings, 'AUTH_DB' | 'APP_DB' | 'LOGS_DB'>;

const perEnv = new WeakMap<DbBindings, Databases>();

/**
 * Drizzle clients for the three databases, created on first use so a request that touches
 * one database pays for one, and kept per env object (the same for every request of an
 * isolate; a client holds no per-request state). `casing: 'snake_case'` matches drizzle.config.ts.
 */
export function createDatabases(env: DbBindings): Databases {
  let dbs = perEnv.get(env);
  if (!dbs) {
    dbs = buildDatabases(env);
    perEnv.set(env, dbs);
  }
  return dbs;
}

function buildDatabases(env: DbBindings): Databases {
  let auth: AuthDb | undefined;
  let app: AppDb | undefined;
  let logs: LogsDb | undefined;
  return {
    get auth() {
      return (auth ??= drizzle(env.AUTH_DB, { schema: authSchema, casing: 'snake_case' }));
    },
    get app() {
      return (app ??= drizzle(env.APP_DB, { schema: appSchema, casing: 'snake_case' }));
    },
    get logs() {
      return (logs ??= drizzle(env.LOGS_DB, { schema: logsSchema, casing: 'snake_case' }));
    },
  };
}
