// Composition of the Worker bundle from esbuild's metafile: minified bytes in index.js per package
// (drizzle-orm and zod per sub-directory) and per src/ area (per feature), as a Markdown table.
//   npx wrangler deploy --dry-run --outdir /tmp/b --metafile /tmp/b/meta.json
//   node scripts/bundle-composition.mjs /tmp/b/meta.json [/tmp/before/meta.json]
// With two metafiles: the first is "after", the second "before". Raw bytes, not gzip: gzip
// shrinks code about 3× and already-compressed data (the common-password set) not at all.
import { readFileSync } from 'node:fs';

function groups(file) {
  const meta = JSON.parse(readFileSync(file, 'utf8'));
  const out = Object.values(meta.outputs).reduce((a, b) => (Object.keys(b.inputs).length > Object.keys(a.inputs).length ? b : a));
  const sums = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
    let key;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)/.exec(input);
    if (m) {
      const parts = m[2].split('/');
      key = m[1];
      if (m[1] === 'drizzle-orm') key += `/${parts.length > 1 ? parts[0] : '(root)'}`;
      if (m[1] === 'zod') key += `/${parts.slice(0, 2).join('/')}`;
    } else {
      const parts = input.split('/');
      key = parts[0] === 'src' ? parts.slice(0, parts[1] === 'features' ? 3 : 2).join('/') : input;
    }
    sums.set(key, (sums.get(key) ?? 0) + bytesInOutput);
  }
  return sums;
}

const [afterFile, beforeFile] = process.argv.slice(2);
if (!afterFile) {
  console.error('usage: node scripts/bundle-composition.mjs <meta.json> [<before meta.json>]');
  process.exit(2);
}
const after = groups(afterFile);
const before = beforeFile ? groups(beforeFile) : null;
const keys = [...new Set([...after.keys(), ...(before?.keys() ?? [])])].sort((a, b) => Math.max(before?.get(b) ?? 0, after.get(b) ?? 0) - Math.max(before?.get(a) ?? 0, after.get(a) ?? 0));
const kib = (n) => (n === undefined || n === 0 ? '–' : (n / 1024).toFixed(1));
const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
console.log(before ? '| part | before KiB | after KiB |\n|---|---:|---:|' : '| part | KiB |\n|---|---:|');
for (const k of keys) {
  if (Math.max(before?.get(k) ?? 0, after.get(k) ?? 0) < 1024) continue;
  console.log(before ? `| ${k} | ${kib(before.get(k))} | ${kib(after.get(k))} |` : `| ${k} | ${kib(after.get(k))} |`);
}
console.log(before ? `| (parts under 1 KiB) | ${kib(total(before) - keys.filter((k) => Math.max(before.get(k) ?? 0, after.get(k) ?? 0) >= 1024).reduce((s, k) => s + (before.get(k) ?? 0), 0))} | ${kib(total(after) - keys.filter((k) => Math.max(before.get(k) ?? 0, after.get(k) ?? 0) >= 1024).reduce((s, k) => s + (after.get(k) ?? 0), 0))} |` : '');
console.log(before ? `| **index.js total** | **${kib(total(before))}** | **${kib(total(after))}** |` : `| **index.js total** | **${kib(total(after))}** |`);
