// Gradual rollout: `wrangler versions upload` then `wrangler versions deploy new@P old@(100-P)`.
// Usage: node scripts/gradual-deploy.mjs --env production --percent 10 [--tag <sha>]
//        node scripts/gradual-deploy.mjs --env production --promote <version-id>   (to 100 %)
// Rollback: npx wrangler rollback --env production [version-id] -m "reason"  (D1 data is not rolled
// back: use `wrangler d1 time-travel restore` with the bookmark printed before migrating).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { versionVarArgs } from './lib/version.mjs';

const { values } = parseArgs({ options: { env: { type: 'string' }, percent: { type: 'string' }, tag: { type: 'string' }, promote: { type: 'string' } } });
if (!values.env) throw new Error('--env is required');
const wrangler = (args) => {
  const r = spawnSync('npx', ['wrangler', ...args, '--env', values.env], { encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout ?? '';
};

if (values.promote) {
  wrangler(['versions', 'deploy', `${values.promote}@100`, '-y', '--message', 'promote to 100%']);
  process.exit(0);
}
const percent = Number(values.percent ?? '10');
if (!(percent > 0 && percent < 100)) throw new Error('--percent must be between 1 and 99');
const current = JSON.parse(wrangler(['deployments', 'status', '--json'])).versions?.[0]?.version_id;
const upload = wrangler(['versions', 'upload', ...versionVarArgs(), ...(values.tag ? ['--tag', values.tag] : []), '--message', `rollout ${values.tag ?? ''}`]);
const id = /Worker Version ID:\s*([0-9a-f-]{36})/i.exec(upload)?.[1];
if (!id) throw new Error('could not read the uploaded version id');
const split = current ? [`${id}@${percent}`, `${current}@${100 - percent}`] : [`${id}@100`];
wrangler(['versions', 'deploy', ...split, '-y', '--message', `gradual ${percent}%`]);
console.log(`Version ${id} receives ${percent}% of traffic. Promote: node scripts/gradual-deploy.mjs --env ${values.env} --promote ${id}`);
