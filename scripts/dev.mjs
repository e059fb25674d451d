// `npm run dev`: everything a fresh clone needs, then wrangler dev on http://127.0.0.1:8787.
// 1. .dev.vars from .dev.vars.example (fresh signing key) when missing;
// 2. every migration applied to the local D1 databases (idempotent);
// 3. the admin from ADMIN_EMAIL / ADMIN_PASSWORD seeded (idempotent, password never printed);
// 4. wrangler dev with cron triggerable at /__scheduled and /cdn-cgi/local/scheduled.
import { spawn, spawnSync } from 'node:child_process';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.WRANGLER_SEND_METRICS ??= 'false';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(process.execPath, ['scripts/ensure-dev-vars.mjs']);
for (const db of ['AUTH_DB', 'APP_DB', 'LOGS_DB']) run('wrangler', ['d1', 'migrations', 'apply', db, '--local']);
run(process.execPath, ['scripts/seed-local.mjs']);

const port = process.env.PORT ?? '8787';
const child = spawn('wrangler', ['dev', '--ip', '127.0.0.1', '--port', port, '--test-scheduled', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: process.env,
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
