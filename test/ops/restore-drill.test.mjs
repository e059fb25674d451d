// Backups and the restore drill for real, with wrangler's local D1 (no stand-in): a temporary copy
// of wrangler.toml whose local state gets the real schema and 250 fixture rows per database
// (quotes and newlines included), then scripts/d1-backup.mjs --local, then scripts/restore-drill.mjs
// into scratch databases, comparing row counts. Run: npm run test:ops (about 1–2 min on 2 cores).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DBS = ['AUTH_DB', 'APP_DB', 'LOGS_DB'];
const MIGRATIONS = { AUTH_DB: 'auth', APP_DB: 'app', LOGS_DB: 'logs' };
const dir = mkdtempSync(path.join(tmpdir(), 'drill-test-'));
const config = path.join(dir, 'wrangler.toml');
const env = { ...process.env, PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false', CI: 'true', GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md') };

const exec = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
const node = (script, args) => exec(process.execPath, [path.join(ROOT, script), ...args]);
const wrangler = (args) => exec(path.join(ROOT, 'node_modules/.bin/wrangler'), [...args, '-c', config]);
const FIXTURE = [
  'CREATE TABLE drill_fixture (id INTEGER PRIMARY KEY, note TEXT NOT NULL, blob_like TEXT);',
  "INSERT INTO drill_fixture (note, blob_like) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 250) SELECT 'row ' || x || ' it''s \"quoted\"' || char(10) || 'INSERT INTO \"drill_fixture\" on a new line', hex(randomblob(16)) FROM c;",
].join('\n');

describe('backups and the restore drill against local D1', () => {
  let backup;

  before(async () => {
    copyFileSync(path.join(ROOT, 'wrangler.toml'), config);
    // The real schema (every migration of the database, in order) plus the fixture, in one
    // `d1 execute --file` per database: one local runtime start each instead of one per migration
    // (one after another: the databases share the local state directory, which SQLite locks).
    for (const db of DBS) {
      const folder = path.join(ROOT, 'migrations', MIGRATIONS[db]);
      const schema = readdirSync(folder).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(path.join(folder, f), 'utf8'));
      const file = path.join(dir, `${db}-seed.sql`);
      writeFileSync(file, [...schema, FIXTURE].join('\n'));
      const seeded = await wrangler(['d1', 'execute', db, '--local', '--file', file, '-y']);
      assert.equal(seeded.code, 0, seeded.stderr);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('d1-backup --local writes a gzip export and a manifest per run (rows per table, sha256)', async () => {
    const r = await node('scripts/d1-backup.mjs', ['--local', '--config', config, '--out', path.join(dir, 'backups')]);
    assert.equal(r.code, 0, r.stderr);
    const [stamp] = readdirSync(path.join(dir, 'backups'));
    backup = path.join(dir, 'backups', stamp);
    assert.deepEqual(readdirSync(backup).sort(), ['APP_DB.sql.gz', 'AUTH_DB.sql.gz', 'LOGS_DB.sql.gz', 'manifest.json']);
    const manifest = JSON.parse(readFileSync(path.join(backup, 'manifest.json'), 'utf8'));
    for (const db of DBS) {
      assert.equal(manifest.databases[db].rows.drill_fixture, 250, db);
      assert.ok(Object.keys(manifest.databases[db].rows).length >= 2, `${db}: the schema's tables are in the export besides the fixture`);
      assert.match(manifest.databases[db].sha256, /^[0-9a-f]{64}$/);
    }
    assert.ok(manifest.databases.AUTH_DB.rows.roles >= 1, 'the built-in roles of the auth migrations are in the export');
    assert.ok(!r.stdout.includes('r2 object put'), 'a local backup never touches R2');
  });

  it('restore-drill restores the backup into scratch databases with every row count equal to the export and the source', async () => {
    const r = await node('scripts/restore-drill.mjs', ['--local', '--config', config, '--from', backup, '--compare-source']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const db of DBS) assert.match(r.stdout, new RegExp(`${db} \\(backup .*\\) → ${db}: \\d+ tables, \\d+ rows, restored in \\d+ ms: OK`));
    const summary = readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8');
    assert.match(summary, /Restore drill \(local\): passed/);
    assert.match(summary, /\| AUTH_DB \| drill_fixture \| 250 \| 250 \| 250 \| ok \|/);
    // The source is counted after the import: 250, not 500, so the drill wrote only to its scratch copies.
  });

  it('a fresh local export (no --from) restores with equal counts: the export → restore → compare round trip', async () => {
    const r = await node('scripts/restore-drill.mjs', ['--local', '--config', config, '--db', 'APP_DB']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /APP_DB \(fresh local export\) → APP_DB: .*: OK/);
  });

  it('fails when the restored counts differ from what the backup claims', async () => {
    const tampered = path.join(dir, 'tampered');
    cpSync(backup, tampered, { recursive: true });
    const file = path.join(tampered, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.databases.AUTH_DB.rows.drill_fixture = 251;
    writeFileSync(file, JSON.stringify(manifest));
    const r = await node('scripts/restore-drill.mjs', ['--local', '--config', config, '--from', tampered, '--db', 'AUTH_DB']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /AUTH_DB .*: MISMATCH\n {2}drill_fixture: export 251, restored 250/);
  });

  it('refuses a backup file whose sha256 differs from the manifest, before restoring anything', async () => {
    const corrupt = path.join(dir, 'corrupt');
    cpSync(backup, corrupt, { recursive: true });
    const gz = readFileSync(path.join(corrupt, 'LOGS_DB.sql.gz'));
    gz[gz.length - 5] ^= 0xff;
    writeFileSync(path.join(corrupt, 'LOGS_DB.sql.gz'), gz);
    const r = await node('scripts/restore-drill.mjs', ['--local', '--config', config, '--from', corrupt]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LOGS_DB\.sql\.gz: sha256 differs from the manifest/);
  });

  it('rejects unknown databases and a remote drill without a backup to restore', async () => {
    const a = await node('scripts/restore-drill.mjs', ['--local', '--db', 'SEARCH_DB']);
    assert.equal(a.code, 2);
    const b = await node('scripts/restore-drill.mjs', ['--env', 'production']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--from-r2/);
    const c = await node('scripts/d1-backup.mjs', ['--env', 'production', '--retention-days', '0']);
    assert.equal(c.code, 2);
  });
});
