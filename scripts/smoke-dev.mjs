// End-to-end check of the developer's first hour, run by .ci/run: starts `npm run dev` for real
// (on spare ports), then register → forgot password → the mail arrives in the dev inbox over
// real SMTP → its code completes the reset → login with the new password; the inbox page renders
// the mail; the banner names the API, docs and inbox; `npm run seed:demo` beside the running
// server gives users that sign in and show up in search. Exits non-zero on any failure; bounded.
import { spawn } from 'node:child_process';
import { readDevVars } from './lib/dev-vars.mjs';

const PORT = process.env.SMOKE_PORT ?? '8797';
const SMTP = process.env.SMOKE_SMTP_PORT ?? '1126';
const HTTP = process.env.SMOKE_INBOX_PORT ?? '8126';
const api = `http://127.0.0.1:${PORT}/api/v1`;
const inbox = `http://127.0.0.1:${HTTP}`;
const deadline = Date.now() + 150_000;

const child = spawn(process.execPath, ['scripts/dev.mjs'], {
  env: { ...process.env, PORT, DEV_INBOX_SMTP_PORT: SMTP, DEV_INBOX_HTTP_PORT: HTTP },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let output = '';
child.stdout.on('data', (c) => (output += c));
child.stderr.on('data', (c) => (output += c));

function stop() {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

function fail(message) {
  console.error(`smoke-dev: ${message}\n--- npm run dev output ---\n${output.slice(-4000)}`);
  stop();
  process.exit(1);
}

async function until(what, check) {
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return fail(`timed out waiting for ${what}`);
}

const post = (path, body) => fetch(`${api}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

try {
  await until('the banner', () => output.includes('app-ubr is running') && output.includes(inbox));
  const email = `smoke-${Date.now()}@example.com`;
  const registered = await post('/auth/register', { email, password: 'correct horse battery staple' });
  if (registered.status !== 201) fail(`register answered ${registered.status}`);
  const forgot = await post('/auth/password/forgot', { email });
  if (forgot.status !== 202) fail(`forgot answered ${forgot.status}`);
  const mail = await until('the reset mail in the inbox', async () => {
    const { data } = await (await fetch(`${inbox}/api/messages?to=${encodeURIComponent(email)}`)).json();
    return data.find((m) => m.channel === 'email' && /reset/i.test(m.subject));
  });
  for (const field of ['id', 'to', 'from', 'subject', 'text', 'html', 'receivedAt']) if (!(field in mail)) fail(`inbox message lacks ${field}`);
  const token = /code: ([A-Za-z0-9_-]{43})/.exec(mail.text)?.[1];
  if (!token) fail('no reset code in the mail');
  const reset = await post('/auth/password/reset', { token, newPassword: 'a brand new passphrase' });
  if (reset.status !== 204) fail(`reset answered ${reset.status}`);
  const login = await post('/auth/login', { email, password: 'a brand new passphrase' });
  if (login.status !== 200) fail(`login with the new password answered ${login.status}`);
  const page = await (await fetch(inbox)).text();
  if (!page.includes('Reset your password') || !page.includes(email)) fail('the inbox page does not show the mail');
  const notice = await until('the security notice', async () => {
    const { data } = await (await fetch(`${inbox}/api/messages?to=${encodeURIComponent(email)}`)).json();
    return data.find((m) => /password was reset/i.test(m.subject));
  });
  // Asynchronous: a blocked event loop would stop draining the dev server's output pipe.
  const seeded = await new Promise((resolve) => {
    const seed = spawn(process.execPath, ['scripts/seed-demo.mjs'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    seed.stderr.on('data', (c) => (stderr += c));
    seed.on('close', (status) => resolve({ status, stderr }));
  });
  if (seeded.status !== 0) fail(`seed:demo failed: ${seeded.stderr}`);
  const demo = await post('/auth/login', { email: 'grace@demo.example.com', password: 'demo password 2026' });
  if (demo.status !== 200) fail(`a demo user cannot sign in: ${demo.status}`);
  const vars = readDevVars();
  const admin = await post('/auth/login', { email: vars.ADMIN_EMAIL, password: vars.ADMIN_PASSWORD });
  if (admin.status !== 200) fail(`the seeded admin cannot sign in: ${admin.status}`);
  const { accessToken } = await admin.json();
  const found = await (await fetch(`${api}/search?q=grace%20hop`, { headers: { Authorization: `Bearer ${accessToken}` } })).json();
  if (!found.data?.some((hit) => hit.title === 'Grace Hopper')) fail(`search does not find the demo user: ${JSON.stringify(found).slice(0, 300)}`);
  console.log(`smoke-dev: ok (reset mail and "${notice.subject}" caught in the dev inbox, new password works, demo data signs in and is searchable)`);
  stop();
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? `${err.message}${err.cause ? ` (${err.cause.message ?? err.cause})` : ''}\n${err.stack}` : String(err));
}
