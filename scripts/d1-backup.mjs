// Scheduled backups (.github/workflows/backup.yml): `wrangler d1 export` of AUTH_DB, APP_DB and LOGS_DB
// into R2, with the retention as an R2 lifecycle rule on the backup bucket.
//   node scripts/d1-backup.mjs --env production [--bucket app-ubr-backups-production] [--retention-days 35]
// Per run, under d1/<env>/<UTC stamp>/: <BINDING>.sql.gz and manifest.json (Time Travel bookmark
// taken just before the export, the rows per table the export holds, sha256 of each file), so a
// restore drill checks against what the backup itself claims. `--local` exports the local D1 of
// `wrangler dev` into --out without R2 (a dry run of the same code path).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BACKED_UP, dumpRowCounts } from './lib/d1-dump.mjs';
import { summary, table } from './lib/github-summary.mjs';
import { parseJsonOutput, wranglerOk } from './lib/wrangler-cli.mjs';

const { values } = parseArgs({
  options: {
    env: { type: 'string' },
    local: { type: 'boolean', default: false },
    bucket: { type: 'string' },
    'retention-days': { type: 'string', default: '35' },
    out: { type: 'string' },
    config: { type: 'string', default: path.resolve(import.meta.dirname, '../wrangler.toml') },
  },
});
const env = values.env;
if (!values.local && env !== 'staging' && env !== 'production') {
  console.error('d1-backup: --env staging|production (or --local)');
  process.exit(2);
}
const days = Number(values['retention-days']);
if (!Number.isInteger(days) || days < 1 || days > 3650) {
  console.error('d1-backup: --retention-days must be a whole number of days (1–3650)');
  process.exit(2);
}
const bucket = values.bucket ?? `app-ubr-backups-${env}`;
if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)) {
  console.error(`d1-backup: not an R2 bucket name: ${bucket}`);
  process.exit(2);
}
const cfg = ['-c', path.resolve(values.config)];
const where = values.local ? ['--local', ...cfg] : ['--remote', '--env', env, ...cfg];
if (values.local) values.out ??= 'backups';
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const prefix = `d1/${values.local ? 'local' : env}/${stamp}`;
const work = values.out ? path.resolve(values.out, stamp) : mkdtempSync(path.join(tmpdir(), 'd1-backup-'));
mkdirSync(work, { recursive: true });

try {
  const manifest = { env: values.local ? 'local' : env, createdAt: new Date().toISOString(), databases: {} };
  // Remote exports run side by side (separate databases), each bookmark just before its export;
  // local ones one after another (local D1 shares one state directory, which SQLite locks).
  const each = values.local ? async (fn) => { for (const db of BACKED_UP) await fn(db); } : (fn) => Promise.all(BACKED_UP.map(fn));
  await each(async (db) => {
    let bookmark = null;
    if (!values.local) bookmark = parseJsonOutput((await wranglerOk(['d1', 'time-travel', 'info', db, '--json', '--env', env, ...cfg], { quiet: true })).stdout).bookmark;
    const sqlFile = path.join(work, `${db}.sql`);
    await wranglerOk(['d1', 'export', db, ...where, '--output', sqlFile, '-y'], { quiet: true });
    const sql = readFileSync(sqlFile);
    const gz = gzipSync(sql, { level: 9 });
    writeFileSync(`${sqlFile}.gz`, gz);
    rmSync(sqlFile);
    manifest.databases[db] = { file: `${db}.sql.gz`, bookmark, bytes: sql.length, gzipBytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex'), rows: dumpRowCounts(sql.toString('utf8')) };
  });
  writeFileSync(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  if (!values.local) {
    for (const name of [...BACKED_UP.map((db) => `${db}.sql.gz`), 'manifest.json']) {
      await wranglerOk(['r2', 'object', 'put', `${bucket}/${prefix}/${name}`, '--file', path.join(work, name), '--remote', '--content-type', name.endsWith('.gz') ? 'application/gzip' : 'application/json', ...cfg], { quiet: true });
    }
    // The newest backup's prefix, for the scheduled restore drill (wrangler cannot list R2 objects).
    const latest = path.join(work, 'LATEST');
    writeFileSync(latest, prefix);
    await wranglerOk(['r2', 'object', 'put', `${bucket}/d1/${env}/LATEST`, '--file', latest, '--remote', '--content-type', 'text/plain', ...cfg], { quiet: true });
    // Retention is R2's job (no list-and-delete loop to get wrong): every run re-asserts the one
    // rule of this dedicated bucket, so a changed --retention-days takes effect on the next run.
    const rules = path.join(work, 'lifecycle.json');
    writeFileSync(rules, JSON.stringify({ rules: [{ id: 'd1-backups-retention', enabled: true, conditions: { prefix: 'd1/' }, deleteObjectsTransition: { condition: { type: 'Age', maxAge: days * 86400 } } }] }));
    await wranglerOk(['r2', 'bucket', 'lifecycle', 'set', bucket, '--file', rules, '--force', ...cfg], { quiet: true });
  }
  const rows = BACKED_UP.map((db) => {
    const d = manifest.databases[db];
    return [db, d.bookmark ?? '-', Object.values(d.rows).reduce((a, b) => a + b, 0), d.gzipBytes, d.sha256.slice(0, 12)];
  });
  const target = values.local ? work : `r2://${bucket}/${prefix}/ (expires after ${days} days)`;
  summary(`### D1 backup (${manifest.env}) → ${target}\n\n${table(['database', 'bookmark', 'rows', 'gzip bytes', 'sha256'], rows)}`);
  console.log(`d1-backup: ${BACKED_UP.join(', ')} → ${target}`);
} finally {
  if (!values.out) rmSync(work, { recursive: true, force: true });
}
