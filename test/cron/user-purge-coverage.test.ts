import { getTableName } from 'drizzle-orm';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { USER_DATA_TABLES } from '../../src/features/users/users-purge.repository';
import { getConfig } from '../../src/lib/config';
import { DAY, runAt, seedUser } from './cron-helpers';

const DAILY = '17 3 * * *';
const USER_COLUMNS = ['user_public_id', 'user_id'];

interface Column {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
}
interface ForeignKey {
  table: string;
  from: string;
  to: string;
  on_delete: string;
}

const tablesOf = async (db: D1Database) =>
  (await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'`).all<{ name: string }>()).results.map(
    (r) => r.name,
  );
const columnsOf = async (db: D1Database, table: string) => (await db.prepare('SELECT * FROM pragma_table_info(?1)').bind(table).all<Column>()).results;
const foreignKeysOf = async (db: D1Database, table: string) => (await db.prepare('SELECT * FROM pragma_foreign_key_list(?1)').bind(table).all<ForeignKey>()).results;

/** Tables of the live database with a column naming a user (by public id or internal id). */
async function userOwnedTables(db: D1Database): Promise<string[]> {
  const owned: string[] = [];
  for (const table of await tablesOf(db)) if ((await columnsOf(db, table)).some((c) => USER_COLUMNS.includes(c.name))) owned.push(table);
  return owned.sort();
}

/** AUTH_DB tables whose rows hang off the user: a user column, or a foreign key into such a table (spent tokens → sessions). */
async function authUserTables(): Promise<string[]> {
  const owned = new Set(await userOwnedTables(env.AUTH_DB));
  const all = await tablesOf(env.AUTH_DB);
  for (let grew = true; grew; ) {
    grew = false;
    for (const table of all) {
      if (owned.has(table) || table === 'users') continue;
      if ((await foreignKeysOf(env.AUTH_DB, table)).some((fk) => owned.has(fk.table))) {
        owned.add(table);
        grew = true;
      }
    }
  }
  return [...owned].sort();
}

/**
 * One row in `table` for the user, whatever the table: required columns get a unique
 * placeholder, the user column the user's id, other foreign keys a row of theirs (or any row).
 */
async function seedRow(db: D1Database, table: string, user: { id: number; publicId: string }, seeded = new Map<string, number>()): Promise<number> {
  const fks = await foreignKeysOf(db, table);
  const names: string[] = [];
  const values: unknown[] = [];
  for (const c of await columnsOf(db, table)) {
    if (c.pk) continue;
    const fk = fks.find((f) => f.from === c.name);
    let value: unknown;
    if (c.name === 'user_public_id') value = user.publicId;
    else if (c.name === 'user_id') value = user.id;
    else if (fk && fk.to === 'id' && seeded.has(fk.table)) value = seeded.get(fk.table);
    else if (fk) {
      const owned = (await columnsOf(db, fk.table)).some((x) => x.name === 'user_id');
      const ref = await db.prepare(`SELECT ${fk.to} AS v FROM ${fk.table} ${owned ? 'WHERE user_id = ?1' : ''} LIMIT 1`).bind(...(owned ? [user.id] : [])).first<{ v: unknown }>();
      if (!ref && owned) throw new Error(`seed ${fk.table} before ${table}`);
      // A parent nobody owns (an OAuth client a grant points at): made on the spot.
      value = ref ? ref.v : await seedRow(db, fk.table, user, seeded);
    } else if (c.notnull && c.dflt_value === null) value = c.type.toUpperCase() === 'INTEGER' ? Date.now() : crypto.randomUUID();
    else continue;
    names.push(c.name);
    values.push(value);
  }
  const row = await db
    .prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `?${i + 1}`).join(', ')}) RETURNING id`)
    .bind(...values)
    .first<{ id: number }>();
  seeded.set(table, row!.id);
  return row!.id;
}

/** A row in every user table of both databases; returns where they are. */
async function seedEverywhere(user: { id: number; publicId: string }): Promise<{ db: D1Database; table: string; id: number }[]> {
  const rows: { db: D1Database; table: string; id: number }[] = [];
  for (const table of await userOwnedTables(env.APP_DB)) rows.push({ db: env.APP_DB, table, id: await seedRow(env.APP_DB, table, user) });
  // Parents first: a table whose foreign key points at a table not seeded yet waits a turn.
  const pending = await authUserTables();
  // The user's own parent rows (a family of the user's grant), not any row of the table.
  const seeded = new Map<string, number>();
  while (pending.length > 0) {
    const table = pending.shift()!;
    const parents = (await foreignKeysOf(env.AUTH_DB, table)).map((fk) => fk.table);
    if (parents.some((p) => pending.includes(p))) pending.push(table);
    else rows.push({ db: env.AUTH_DB, table, id: await seedRow(env.AUTH_DB, table, user, seeded) });
  }
  return rows;
}

const exists = async (r: { db: D1Database; table: string; id: number }) => (await r.db.prepare(`SELECT count(*) AS n FROM ${r.table} WHERE id = ?1`).bind(r.id).first<number>('n')) === 1;

describe('cron: the account-deletion purge covers every user-owned table', () => {
  it('purges every APP_DB table that has a user column (found in the schema by userRef()), profiles last', async () => {
    const purged = USER_DATA_TABLES.map((t) => getTableName(t.table));
    expect(await userOwnedTables(env.APP_DB), 'an APP_DB table holds user rows the purge does not reach: declare its owner with userRef()').toEqual([...purged].sort());
    expect(purged.at(-1)).toBe('profiles');
  });

  it('reaches every AUTH_DB user table by a cascading foreign key from users', async () => {
    const tables = await authUserTables();
    expect(tables).toEqual(expect.arrayContaining(['api_keys', 'sessions', 'spent_refresh_tokens', 'user_roles']));
    for (const table of tables) {
      const fks = await foreignKeysOf(env.AUTH_DB, table);
      const cascades = fks.some((fk) => (fk.table === 'users' || tables.includes(fk.table)) && fk.on_delete.toUpperCase() === 'CASCADE');
      expect(cascades, `${table}: a user's rows would survive the hard delete (no ON DELETE CASCADE towards users)`).toBe(true);
    }
  });

  it('leaves no row of a purged user in any user table, and keeps every row of other users', async () => {
    const now = Date.now();
    const [gone, kept] = [await seedUser(), await seedUser()];
    const goneRows = await seedEverywhere(gone);
    const keptRows = await seedEverywhere(kept);
    expect(goneRows.length).toBeGreaterThanOrEqual(USER_DATA_TABLES.length + 4);
    const days = getConfig(env).retention.deletedUsersDays;
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ?1 WHERE id = ?2').bind(now - (days + 1) * DAY, gone.id).run();

    const { deletedUsers } = await runAt(DAILY, now);
    expect(deletedUsers!.done).toBe(true);
    for (const r of goneRows) expect(await exists(r), `${r.table} row of the purged user`).toBe(false);
    for (const r of keptRows) expect(await exists(r), `${r.table} row of a kept user`).toBe(true);
  });
});
