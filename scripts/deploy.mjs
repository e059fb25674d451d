// `wrangler deploy --env <env>` with APP_VERSION=<package.json version>+<git sha> (scripts/lib/version.mjs).
// Usage: node scripts/deploy.mjs --env staging
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { versionVarArgs } from './lib/version.mjs';

const { values } = parseArgs({ options: { env: { type: 'string' } } });
if (!values.env) throw new Error('--env is required');
const args = ['wrangler', 'deploy', '--env', values.env, ...versionVarArgs()];
console.log(`npx ${args.join(' ')}`);
const r = spawnSync('npx', args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
