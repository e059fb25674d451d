// Fails when a migration rebuilds a table (drizzle-kit's `__new_<table>` pattern) or drops one
// without a reviewed marker. On D1, `PRAGMA foreign_keys=OFF` is ignored inside migrations, so a
// rebuild's DROP TABLE cascade-deletes every ON DELETE CASCADE child row (drizzle-orm#4938).
// To accept one after review (and a test on a copy of production data), add a sibling file
// `<migration>.reviewed` saying who reviewed it and how the child rows are preserved.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = 'migrations';
let failures = 0;
for (const db of readdirSync(root)) {
  const dir = join(root, db);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    const sql = readFileSync(join(dir, file), 'utf8');
    const risky = /__new_/.test(sql) || /\bDROP\s+TABLE\b/i.test(sql);
    if (risky && !existsSync(join(dir, `${file.replace(/\.sql$/, '')}.reviewed`))) {
      console.error(`${join(dir, file)} rebuilds or drops a table and has no .reviewed marker`);
      failures += 1;
    }
  }
}
if (failures > 0) process.exit(1);
console.log('check-migrations: no unreviewed table rebuilds');
