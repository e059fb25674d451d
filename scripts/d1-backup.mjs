// Backups of the three D1 databases: a Time Travel bookmark (restore point) and a SQL export.
// Usage: node scripts/d1-backup.mjs --env production [--out backups]
// Restore: npx wrangler d1 time-travel restore <database> --bookmark <bookmark> --env production
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { env: { type: 'string' }, out: { type: 'string', default: 'backups' } } });
if (!values.env) throw new Error('--env is required (staging or production)');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(values.out, { recursive: true });
// SEARCH_DB is derived (rebuilt by the indexers) and cannot be exported (FTS5): not backed up.
for (const db of ['AUTH_DB', 'APP_DB', 'LOGS_DB']) {
  for (const args of [
    ['d1', 'time-travel', 'info', db],
    ['d1', 'export', db, '--remote', '--output', join(values.out, `${db}-${values.env}-${stamp}.sql`)],
  ]) {
    const r = spawnSync('npx', ['wrangler', ...args, '--env', values.env], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
