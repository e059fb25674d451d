// Remote D1 migrations behind a Time Travel restore point.
//   node scripts/migrate-remote.mjs --env staging|production
// First a bookmark of every D1 database of the environment (`wrangler d1 time-travel info --json`),
// printed and written to $GITHUB_STEP_SUMMARY with its restore command; only when every bookmark
// was taken, `wrangler d1 migrations apply <binding> --remote` for each. A failed bookmark applies
// nothing; a failed migration stops the rest (the bookmarks above restore what was applied).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { summary, table } from './lib/github-summary.mjs';
import { parseJsonOutput, wrangler } from './lib/wrangler-cli.mjs';

const { values } = parseArgs({ options: { env: { type: 'string' }, config: { type: 'string', default: path.resolve(import.meta.dirname, '../wrangler.toml') } } });
const env = values.env;
if (env !== 'staging' && env !== 'production') {
  console.error('migrate-remote: --env must be staging or production');
  process.exit(2);
}
const { unstable_readConfig } = await import('wrangler');
const databases = unstable_readConfig({ config: values.config, env }, { hideWarnings: true }).d1_databases;

const rows = [];
for (const db of databases) {
  const r = await wrangler(['d1', 'time-travel', 'info', db.binding, '--json', '--env', env], { quiet: true });
  let bookmark;
  try {
    bookmark = r.code === 0 ? parseJsonOutput(r.stdout).bookmark : undefined;
  } catch {
    bookmark = undefined;
  }
  if (!bookmark) {
    console.error(`migrate-remote: no Time Travel bookmark for ${db.binding} (${db.database_name}): ${r.stderr.trim().slice(-300)}`);
    summary(`**No migration applied:** the Time Travel bookmark of \`${db.database_name}\` could not be read.`);
    process.exit(1);
  }
  const restore = `npx wrangler d1 time-travel restore ${db.database_name} --bookmark=${bookmark} --env ${env}`;
  console.log(`migrate-remote: ${db.binding} (${db.database_name}) bookmark ${bookmark}\n  restore: ${restore}`);
  rows.push([db.binding, db.database_name, `\`${bookmark}\``, `\`${restore}\``]);
}
summary(`### Time Travel bookmarks before migrating (${env}, ${new Date().toISOString()})\n\n${table(['binding', 'database', 'bookmark', 'restore'], rows)}`);

for (const db of databases) {
  const r = await wrangler(['d1', 'migrations', 'apply', db.binding, '--remote', '--env', env]);
  if (r.code !== 0) {
    summary(`**Migration of \`${db.database_name}\` failed**; databases after it were not migrated. Restore points are above.`);
    process.exit(1);
  }
}
summary(`Migrations applied to ${databases.map((d) => `\`${d.database_name}\``).join(', ')}.`);
