// GitHub Actions files: $GITHUB_STEP_SUMMARY (markdown shown on the run page) and $GITHUB_OUTPUT
// (step outputs). Outside Actions both are unset and nothing is written.
import { appendFileSync } from 'node:fs';

export function summary(markdown) {
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
}

export function output(name, value) {
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${name}=${String(value).replace(/[\r\n]/g, ' ')}\n`);
}

/** A markdown table from rows of cells (pipes in cells escaped). */
export function table(head, rows) {
  const cell = (v) => String(v ?? '').replace(/\|/g, '\\|');
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}
