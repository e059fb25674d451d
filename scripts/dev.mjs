// `npm run dev`: everything a fresh clone needs, then wrangler dev on http://127.0.0.1:$PORT (8787).
// 1. .dev.vars from .dev.vars.example (fresh keys) when missing;
// 2. every migration applied to the local D1 databases (idempotent, non-interactive, quiet);
// 3. the admin from ADMIN_EMAIL / ADMIN_PASSWORD seeded (idempotent, password never printed);
// 4. the dev inbox (scripts/dev-inbox.mjs): SMTP on 127.0.0.1:1025, web + JSON on 127.0.0.1:8025;
// 5. wrangler dev (cron at /__scheduled), mail over real SMTP to the inbox, issuer on $PORT;
// 6. one banner once the API answers. Wrangler's own banners and binding tables are filtered.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { startInbox } from './dev-inbox.mjs';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.WRANGLER_HIDE_BANNER ??= 'true';

const port = process.env.PORT ?? '8787';
const base = `http://127.0.0.1:${port}`;

function run(cmd, args, { quiet = false } = {}) {
  // CI=true: wrangler never stops at a confirmation prompt here.
  const r = spawnSync(cmd, args, { stdio: quiet ? 'pipe' : 'inherit', env: { ...process.env, CI: 'true' }, encoding: 'utf8' });
  if (r.status !== 0) {
    if (r.error) console.error(`${cmd}: ${r.error.message}`);
    if (quiet) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    process.exit(r.status ?? 1);
  }
}

run(process.execPath, ['scripts/ensure-dev-vars.mjs']);
for (const db of ['AUTH_DB', 'APP_DB', 'LOGS_DB', 'SEARCH_DB']) run('wrangler', ['d1', 'migrations', 'apply', db, '--local'], { quiet: true });
console.log('Local D1 databases migrated.');
run(process.execPath, ['scripts/seed-local.mjs']);

// A developer who configured a real mail provider in .dev.vars keeps it.
const devVars = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : '';
const ownMail = /^(SMTP_HOST|RESEND_API_KEY)=\S+/m.test(devVars);

let inbox = null;
try {
  inbox = await startInbox({ smtpPort: Number(process.env.DEV_INBOX_SMTP_PORT ?? 1025), httpPort: Number(process.env.DEV_INBOX_HTTP_PORT ?? 8025) });
} catch (err) {
  console.warn(`Dev inbox not started (${err.code ?? err.message}); mail is only recorded in the Worker's log.`);
}

const vars = [`JWT_ISSUER:${base}`];
if (inbox) {
  vars.push(`DEV_INBOX_URL:${inbox.url}`);
  if (!ownMail) vars.push('SMTP_HOST:127.0.0.1', `SMTP_PORT:${inbox.smtpPort}`, 'SMTP_SECURE:false');
}

const NOISE = [
  /^\s*⛅️ wrangler/,
  /^[─-]{5,}\s*$/,
  /update available/i,
  /Run `npm install --save-dev wrangler/,
  /^Your (Worker|worker) has access to the following bindings/,
  /^Binding\s+Resource\s+Mode/,
  /^\s*env\.\w+\s+.*\s(local|remote)\s*$/,
  /^Using vars defined in/,
  /^Using secrets defined in/,
  /Request\.cf object/,
  /^\s*$/,
];
const keep = (line) => !NOISE.some((re) => re.test(line));

// The dev inbox is reached over real SMTP: this build includes the SMTP channel (wrangler.toml).
const args = ['dev', '--ip', '127.0.0.1', '--port', port, '--test-scheduled', '--define', '__SMTP_BUILD__:true', ...vars.flatMap((v) => ['--var', v]), ...process.argv.slice(2)];
const child = spawn('wrangler', args, { stdio: ['inherit', 'pipe', 'pipe'], env: process.env });
for (const [from, to] of [
  [child.stdout, process.stdout],
  [child.stderr, process.stderr],
]) {
  let buffered = '';
  from.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (keep(line)) to.write(`${line}\n`);
  });
}

async function banner() {
  for (let i = 0; i < 240; i += 1) {
    try {
      const res = await fetch(`${base}/api/v1/health`);
      if (res.status === 200 || res.status === 503) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const email = /^ADMIN_EMAIL=(.*)$/m.exec(readFileSync('.dev.vars', 'utf8'))?.[1] ?? 'ADMIN_EMAIL';
  console.log(
    [
      '',
      'app-ubr is running',
      `  API      ${base}/api/v1   (health: ${base}/api/v1/health)`,
      `  Docs     ${base}/docs`,
      inbox ? `  Inbox    ${inbox.url}   (JSON: ${inbox.url}/api/messages?to=<address>)` : '  Inbox    not running',
      `  Admin    ${email}, password: ADMIN_PASSWORD in .dev.vars`,
      `  Cron     ${base}/__scheduled?cron=*/5+*+*+*+*`,
      '',
    ].join('\n'),
  );
}
void banner();

async function stop(code) {
  if (inbox) await inbox.close().catch(() => {});
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => void stop(code ?? 0));
