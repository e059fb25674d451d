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

/** The part of a D1 session Drizzle's D1 driver uses (`prepare` and `batch`), plus its bookmark. */
type D1Session = ReturnType<D1Database['withSession']>;

export interface SessionDatabases {
  db: Databases;
  /** The newest bookmark each session saw (null: it ran no query). */
  bookmarks(): { auth: string | null; app: string | null };
}

/**
 * Drizzle clients for one request, reading AUTH_DB and APP_DB through the D1 Sessions API
 * (read replicas): each opened at its constraint or bookmark on first use. LOGS_DB has no
 * session: it is fed by a queue, so a bookmark could promise nothing about a caller's writes.
 * Drizzle's D1 driver calls only `prepare` and `batch`, which a session has.
 */
export function createSessionDatabases(env: DbBindings, start: { auth: string; app: string }): SessionDatabases {
  let authSession: D1Session | undefined;
  let appSession: D1Session | undefined;
  let auth: AuthDb | undefined;
  let app: AppDb | undefined;
  const shared = createDatabases(env);
  const db: Databases = {
    get auth() {
      authSession ??= env.AUTH_DB.withSession(start.auth);
      return (auth ??= drizzle(authSession as unknown as D1Database, { schema: authSchema, casing: 'snake_case' }));
    },
    get app() {
      appSession ??= env.APP_DB.withSession(start.app);
      return (app ??= drizzle(appSession as unknown as D1Database, { schema: appSchema, casing: 'snake_case' }));
    },
    get logs() {
      return shared.logs;
    },
  };
  return { db, bookmarks: () => ({ auth: authSession?.getBookmark() ?? null, app: appSession?.getBookmark() ?? null }) };
}
