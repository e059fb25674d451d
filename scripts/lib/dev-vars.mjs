import { readFileSync } from 'node:fs';

/** Parses .dev.vars (KEY=value, optional single or double quotes). */
export function readDevVars(path = '.dev.vars') {
  const out = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"'))) value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}
