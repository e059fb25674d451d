// Kebab-case file names with role suffixes (STYLE.md): `users.routes.ts`, `rate-limiter.ts`.
// Fails on any file under src/, test/, scripts/ or bench/ whose name has capitals or underscores.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$/;
const bad = [];
function walk(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (!NAME.test(entry) && entry !== 'README.md' && entry !== 'RESULTS.md') bad.push(path);
  }
}
for (const dir of ['src', 'test', 'scripts', 'bench']) walk(dir);
if (bad.length > 0) {
  console.error(`check-names: not kebab-case:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log('check-names: every file name is kebab-case');
