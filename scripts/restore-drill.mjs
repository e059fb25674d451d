// Restore drill: restores D1 exports into scratch databases and checks every table's row count.
//   node scripts/restore-drill.mjs --local [--from <backup dir>] [--db AUTH_DB] [--config wrangler.toml]
//   node scripts/restore-drill.mjs --env staging --from-r2 <bucket>[/d1/staging/<stamp>]   (default: the newest backup)
// Source: a backup written by scripts/d1-backup.mjs (its manifest.json: rows per table, sha256), or,
// without --from, a fresh `wrangler d1 export` of the local D1. Scratch: local, a throwaway
// --persist-to directory (the real local state is never written); remote, `wrangler d1 create
// app-ubr-drill-<stamp>`, deleted afterwards. Passes when every table of the export has, restored,
// the rows the export holds, and (--local, fresh or --compare-source) the rows of the source.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { BACKED_UP, countQuery, countsFromJson, dumpRowCounts, dumpTables } from './lib/d1-dump.mjs';
import { summary, table } from './lib/github-summary.mjs';
import { parseJsonOutput, wranglerOk } from './lib/wrangler-cli.mjs';

const { values } = parseArgs({
  options: {
    local: { type: 'boolean', default: false },
    env: { type: 'string' },
    from: { type: 'string' },
    'from-r2': { type: 'string' },
    db: { type: 'string', multiple: true },
    config: { type: 'string', default: path.resolve(import.meta.dirname, '../wrangler.toml') },
    'compare-source': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const die = (message, code = 2) => {
  console.error(`restore-drill: ${message}`);
  process.exit(code);
};
if (values.local === Boolean(values.env)) die('give --local or --env staging|production');
if (values.env && values.env !== 'staging' && values.env !== 'production') die('--env must be staging or production');
if (values.env && !values['from-r2']) die('a remote drill restores a backup: --from-r2 <bucket>[/<prefix>]');
const dbs = values.db ?? BACKED_UP;
for (const db of dbs) if (!BACKED_UP.includes(db)) die(`--db must be one of ${BACKED_UP.join(', ')}`);
const cfg = ['-c', path.resolve(values.config)];
const work = mkdtempSync(path.join(tmpdir(), 'restore-drill-'));
const stamp = Date.now().toString(36);

// Local wrangler commands on the source share one state directory, which SQLite locks: they take
// turns. Scratch databases have a directory each and run side by side.
let sourceTurn = Promise.resolve();
const onSource = (fn) => {
  const run = sourceTurn.then(fn);
  sourceTurn = run.catch(() => {});
  return run;
};

/** The exports to restore: { db: { sql, expected rows, source } }. */
async function loadExports() {
  const out = {};
  let dir = values.from && path.resolve(values.from);
  if (values['from-r2']) {
    let remote = values['from-r2'].replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9](\/[\w./-]+)?$/.test(remote) || remote.includes('..')) die(`not <bucket>[/<prefix>]: ${remote}`);
    dir = path.join(work, 'backup');
    mkdirSync(dir);
    if (!remote.includes('/')) {
      const latest = path.join(work, 'LATEST');
      await wranglerOk(['r2', 'object', 'get', `${remote}/d1/${values.env}/LATEST`, '--file', latest, '--remote', ...cfg], { quiet: true });
      remote = `${remote}/${readFileSync(latest, 'utf8').trim()}`;
      console.log(`restore-drill: newest backup ${remote}`);
    }
    for (const name of ['manifest.json', ...dbs.map((db) => `${db}.sql.gz`)]) {
      await wranglerOk(['r2', 'object', 'get', `${remote}/${name}`, '--file', path.join(dir, name), '--remote', ...cfg], { quiet: true });
    }
  }
  if (dir) {
    if (!existsSync(path.join(dir, 'manifest.json'))) die(`no manifest.json in ${dir} (a scripts/d1-backup.mjs backup)`);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    for (const db of dbs) {
      const entry = manifest.databases?.[db];
      if (!entry) die(`the backup has no ${db}`, 1);
      const gz = readFileSync(path.join(dir, entry.file));
      if (createHash('sha256').update(gz).digest('hex') !== entry.sha256) die(`${entry.file}: sha256 differs from the manifest (corrupt or altered backup)`, 1);
      out[db] = { sql: gunzipSync(gz).toString('utf8'), expected: entry.rows, source: `backup ${path.basename(dir)}` };
    }
    return out;
  }
  await Promise.all(dbs.map(async (db) => {
    const file = path.join(work, `${db}.sql`);
    await onSource(() => wranglerOk(['d1', 'export', db, '--local', '--output', file, '-y', ...cfg], { quiet: true }));
    const sql = readFileSync(file, 'utf8');
    out[db] = { sql, expected: dumpRowCounts(sql), source: 'fresh local export' };
  }));
  return out;
}

async function counts(target, tables, where) {
  if (tables.length === 0) return {};
  const r = await wranglerOk(['d1', 'execute', target, ...where, '--json', '--command', countQuery(tables), ...cfg], { quiet: true });
  return countsFromJson(parseJsonOutput(r.stdout));
}

async function drill(db, exp) {
  const tables = dumpTables(exp.sql);
  const file = path.join(work, `${db}.restore.sql`);
  writeFileSync(file, exp.sql);
  let target = db;
  let where;
  if (values.local) {
    // Same binding, other storage: the scratch copy lives in its own persistence directory.
    const scratch = path.join(work, `scratch-${db}`);
    where = ['--local', '--persist-to', scratch];
  } else {
    target = `app-ubr-drill-${db.toLowerCase().replace('_db', '')}-${stamp}`;
    await wranglerOk(['d1', 'create', target, ...cfg], { quiet: true });
    where = ['--remote'];
  }
  try {
    const start = Date.now();
    await wranglerOk(['d1', 'execute', target, ...where, '--file', file, '-y', ...cfg], { quiet: true });
    const restoreMs = Date.now() - start;
    const restored = await counts(target, tables, where);
    const compareSource = values.local && (!values.from || values['compare-source']);
    const source = compareSource ? await onSource(() => counts(db, tables, ['--local'])) : null;
    const rows = tables.map((t) => {
      const ok = restored[t] === exp.expected[t] && (!source || source[t] === restored[t]);
      return { table: t, expected: exp.expected[t], restored: restored[t], source: source?.[t], ok };
    });
    return { db, target, restoreMs, rows, ok: rows.length > 0 && rows.every((r) => r.ok) };
  } finally {
    if (!values.local && !values.keep) await wranglerOk(['d1', 'delete', target, '-y', ...cfg], { quiet: true }).catch((err) => console.error(`restore-drill: could not delete ${target}: ${err.message}`));
  }
}

try {
  const exports = await loadExports();
  const results = await Promise.all(dbs.map((db) => drill(db, exports[db])));
  const lines = [];
  for (const r of results) {
    const total = r.rows.reduce((a, x) => a + (x.restored ?? 0), 0);
    console.log(`restore-drill: ${r.db} (${exports[r.db].source}) → ${r.target}: ${r.rows.length} tables, ${total} rows, restored in ${r.restoreMs} ms: ${r.ok ? 'OK' : 'MISMATCH'}`);
    for (const x of r.rows.filter((y) => !y.ok)) console.log(`  ${x.table}: export ${x.expected}, restored ${x.restored}${x.source === undefined ? '' : `, source ${x.source}`}`);
    lines.push(...r.rows.map((x) => [r.db, x.table, x.expected, x.restored, x.source ?? '-', x.ok ? 'ok' : 'MISMATCH']));
  }
  const ok = results.every((r) => r.ok);
  summary(`### Restore drill (${values.local ? 'local' : values.env}): ${ok ? 'passed' : 'FAILED'}\n\n${table(['database', 'table', 'rows in export', 'restored', 'source', 'check'], lines)}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
