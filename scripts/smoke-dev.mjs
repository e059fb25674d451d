// End-to-end check of the developer's first hour, run by .ci/run: starts `npm run dev` for real
// (on spare ports), then register → forgot password → the mail arrives in the dev inbox over
// real SMTP → its code completes the reset → login with the new password; the inbox page renders
// the mail; the banner names the API, docs and inbox. Exits non-zero on any failure; bounded.
import { spawn } from 'node:child_process';

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
  console.log(`smoke-dev: ok (reset mail and "${notice.subject}" caught in the dev inbox, new password works)`);
  stop();
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
