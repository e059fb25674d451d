// `npm run test:browser`: the admin console (public/admin/) in a real headless Chromium, driven by
// playwright-core (no browser download: Debian's chromium, scripts/ci-install-chromium.sh),
// against a real `npm run dev` started here on free ports. Signs in as the seeded admin, lists
// users, searches one, creates a role and grants it, soft-deletes and restores the user, sees the
// audit entries arrive in the log's live tail, lists and ends the user's sessions, visits every
// view (dead letters included), reloads (resumed through the HttpOnly console cookie) and signs
// out; fails on any request leaving 127.0.0.1, any console error (CSP violations included), and
// anything kept in localStorage, sessionStorage, IndexedDB or any cookie but the console's. `--screenshots` writes docs/admin/*.png (README).
// Skips (exit 0, with a message) only when no Chromium is installed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readDevVars } from './lib/dev-vars.mjs';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'].filter(Boolean);
const executablePath = CANDIDATES.find((p) => existsSync(p));
if (!executablePath) {
  console.log(`test:browser: SKIPPED, no Chromium found (looked at ${CANDIDATES.join(', ')}); install it with scripts/ci-install-chromium.sh or set CHROMIUM_PATH.`);
  process.exit(0);
}
const { chromium } = await import('playwright-core');
const { generateHOTP } = await import('@oslojs/otp');
const { decodeBase32IgnorePadding } = await import('@oslojs/encoding');

const started = Date.now();
const deadline = started + 170_000;
const shots = process.argv.includes('--screenshots') ? 'docs/admin' : null;
if (shots) mkdirSync(shots, { recursive: true });

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(String(port)));
    });
  });
const [PORT, SMTP, HTTP] = [await freePort(), await freePort(), await freePort()];
// BROWSER_TEST_URL=http://127.0.0.1:8787 reuses a running `npm run dev` (iterating on the page).
const reuse = process.env.BROWSER_TEST_URL?.replace(/\/$/, '');
const base = reuse ?? `http://127.0.0.1:${PORT}`;

// Budgets raised for this run only (wrangler --var): the test signs in and registers on every run,
// and the local rate-limit state persists across runs in .wrangler/.
const child = reuse
  ? null
  : spawn(process.execPath, ['scripts/dev.mjs', '--var', 'RATE_LIMIT_AUTH:1000/60', '--var', 'RATE_LIMIT_REGISTRATION:1000/60'], {
  env: { ...process.env, PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, PORT, DEV_INBOX_SMTP_PORT: SMTP, DEV_INBOX_HTTP_PORT: HTTP },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let output = '';
child?.stdout.on('data', (c) => (output += c));
child?.stderr.on('data', (c) => (output += c));

let browser = null;
const problems = [];
async function stop() {
  await browser?.close().catch(() => {});
  try {
    if (child) process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
async function fail(message) {
  console.error(`test:browser: FAILED: ${message}\n${problems.join('\n')}\n--- npm run dev output ---\n${output.slice(-3000)}`);
  await stop();
  process.exit(1);
}
function check(condition, message) {
  if (!condition) throw new Error(message);
}
async function until(what, fn, ms = 30_000) {
  const end = Math.min(deadline, Date.now() + ms);
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const step = (name) => console.log(`test:browser: ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

try {
  if (child) await until('npm run dev', () => output.includes('app-ubr is running'), 150_000);
  step('dev server up');
  const vars = readDevVars();
  const adminEmail = vars.ADMIN_EMAIL.trim().toLowerCase();
  const tag = Date.now().toString(36);
  const userEmail = `browser-${tag}@example.com`;
  const userName = `Browser Tester ${tag}`;
  const reg = await fetch(`${base}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: userEmail, password: 'correct horse battery staple', fullName: userName }) });
  check(reg.status === 201, `register answered ${reg.status}`);
  const userId = (await reg.json()).user.id;

  browser = await chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const external = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== '127.0.0.1') {
      external.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  // Chromium logs every 4xx answer as a console error; the refusals this test provokes are expected.
  const expected = /Failed to load resource: the server responded with a status of 40[13]/;
  page.on('console', (m) => m.type() === 'error' && !expected.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  const shot = async (name) => {
    const text = await page.locator('main').innerText();
    check(!/^(null|undefined)$|\bundefined\b|\[object Object\]/m.test(text), `the ${name} view prints a stray value:\n${text}`);
    if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
  };

  const res = await page.goto(`${base}/admin`);
  check(res?.status() === 200 && page.url() === `${base}/admin/`, `GET /admin → ${res?.status()} at ${page.url()}`);
  const csp = res.headers()['content-security-policy'] ?? '';
  check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline'), `CSP: ${csp}`);
  check(res.headers()['x-frame-options'] === 'DENY', 'X-Frame-Options');

  await page.getByLabel('Email').fill(adminEmail);
  await page.getByLabel('Password').fill(vars.ADMIN_PASSWORD);
  await shot('sign-in');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  await page.getByRole('link', { name: adminEmail }).waitFor();
  await page.getByRole('link', { name: userEmail }).waitFor();
  step('signed in, users listed');
  await shot('users');

  // Search (FTS index, fed after the response): resubmit until the new user is found.
  await until('the user in search results', async () => {
    await page.getByLabel('Search (name, email)').fill(userName);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('caption').filter({ hasText: 'Search results' }).waitFor({ timeout: 3000 });
    return (await page.getByRole('link', { name: userName }).count()) > 0;
  });
  step('search found the user');
  await shot('search');

  // A role to grant, made in the roles editor.
  const roleName = `support-${tag}`;
  await page.getByRole('link', { name: 'Roles' }).click();
  await page.getByRole('heading', { name: 'Roles and permissions' }).waitFor();
  const form = page.getByRole('form', { name: 'New role' });
  await form.getByLabel('Name').fill(roleName);
  await form.getByLabel('Description').fill('Reads users');
  await form.getByLabel('users:read').check();
  await form.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: roleName, exact: true }).waitFor();
  step('role created');
  await shot('roles');

  // The user: grant the role, soft delete, restore.
  await page.goto(`${base}/admin/#/users/${userId}`);
  await page.getByRole('heading', { name: userEmail }).waitFor();
  await page.getByLabel('Grant a role').selectOption({ label: roleName });
  await page.getByRole('button', { name: 'Grant', exact: true }).click();
  await page.getByRole('button', { name: `Revoke role ${roleName}` }).waitFor();
  step('role granted');
  await page.getByRole('button', { name: /Soft delete/ }).click();
  await page.getByRole('button', { name: 'Restore user' }).waitFor();
  await shot('user-deleted');
  await page.getByRole('button', { name: 'Restore user' }).click();
  await page.getByRole('button', { name: /Soft delete/ }).waitFor();
  step('soft-deleted and restored');
  // A restore leaves sessions ended: give the user a live one, then end it from its detail page.
  const relog = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': 'browser-test client' }, body: JSON.stringify({ email: userEmail, password: 'correct horse battery staple' }) });
  check(relog.status === 200, `user login answered ${relog.status}`);
  await page.reload();
  await page.getByRole('caption').filter({ hasText: 'Live sessions of this user' }).waitFor();
  await page.getByRole('cell', { name: 'browser-test client' }).waitFor();
  await page.getByRole('caption').filter({ hasText: 'Linked social sign-in identities' }).waitFor();
  await shot('user');
  await page.getByRole('button', { name: 'End all sessions' }).click();
  await page.getByRole('cell', { name: 'browser-test client' }).waitFor({ state: 'detached' });
  step("the user's sessions listed and ended");

  // Audit log, live tail: the three entries about the user arrive through the audit queue.
  await page.goto(`${base}/admin/#/logs?targetId=${userId}`);
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByLabel('Live tail (polls every 3 s)').check();
  for (const action of ['role.grant', 'user.delete', 'user.restore', 'user.sessions_revoke']) await page.getByRole('cell', { name: action, exact: true }).first().waitFor({ timeout: 30_000 });
  step('audit entries in the live tail');
  await shot('audit-log');

  await page.goto(`${base}/admin/#/notifications?user=${userId}`);
  await page.getByRole('caption').filter({ hasText: 'Notifications' }).waitFor();
  await shot('notifications');
  await page.getByRole('navigation').getByRole('link', { name: 'Dead letters' }).click();
  await page.getByRole('caption').filter({ hasText: 'Dead letters, newest first' }).waitFor();
  await shot('dead-letters');
  for (const [link, heading, name] of [
    ['Webhooks', 'Webhooks', 'webhooks'],
    ['Client versions', 'Client versions', 'client-versions'],
    ['API keys', 'API keys', 'api-keys'],
    ['My sessions', 'My sessions', 'sessions'],
  ]) {
    await page.getByRole('navigation').getByRole('link', { name: link }).click();
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await shot(name);
  }
  step('every view rendered');

  // Phone width: the users view stays usable.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('navigation').getByRole('link', { name: 'Users' }).click();
  await page.getByRole('link', { name: adminEmail }).waitFor();
  await shot('users-phone');

  /* global localStorage, sessionStorage, indexedDB, document -- evaluated in the page */
  const stored = await page.evaluate(async () => ({ local: localStorage.length, session: sessionStorage.length, idb: (await indexedDB.databases()).length, cookie: document.cookie }));
  check(stored.local === 0 && stored.session === 0 && stored.idb === 0 && stored.cookie === '', `browser storage used: ${JSON.stringify(stored)}`);
  // The one cookie: the console's refresh cookie, out of the script's reach and scoped to the console routes.
  const cookies = await context.cookies();
  const jar = cookies.map(({ name, path, httpOnly, secure, sameSite }) => ({ name, path, httpOnly, secure, sameSite }));
  check(JSON.stringify(jar) === JSON.stringify([{ name: '__Secure-ubr_console', path: '/api/v1/auth/console', httpOnly: true, secure: true, sameSite: 'Strict' }]), `cookies: ${JSON.stringify(jar)}`);
  await page.reload();
  await page.getByRole('link', { name: adminEmail }).waitFor();
  check((await context.cookies())[0]?.value !== cookies[0].value, 'the reload did not rotate the refresh cookie');
  step('a reload resumes through the console cookie (rotated)');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await until('the cookie cleared', async () => (await context.cookies()).length === 0, 5000);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  step('nothing stored but the HttpOnly cookie; after sign-out a reload asks to sign in again');

  // Two-factor sign-in, as an account without admin permissions: the page asks for the code, and
  // what the API refuses the page shows refused.
  const mfaEmail = `browser-mfa-${tag}@example.com`;
  const mfaPassword = 'another correct horse battery';
  const post = async (path, body, token) => {
    const r = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    check(r.ok, `${path} answered ${r.status}`);
    return r.json();
  };
  const { accessToken } = await post('/auth/register', { email: mfaEmail, password: mfaPassword });
  const { secret } = await post('/auth/mfa/totp/setup', { password: mfaPassword }, accessToken);
  const key = decodeBase32IgnorePadding(secret);
  const counter = () => BigInt(Math.floor(Date.now() / 30_000));
  await post('/auth/mfa/totp/enable', { code: generateHOTP(key, counter(), 6) }, accessToken);
  await page.getByLabel('Email').fill(mfaEmail);
  await page.getByLabel('Password').fill(mfaPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const codeField = page.getByLabel('Two-factor code (or a recovery code)');
  await codeField.waitFor();
  await codeField.fill(generateHOTP(key, counter() + 1n, 6)); // the next step: the enrolment's code is spent
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Not available' }).waitFor();
  check((await page.getByRole('alert').filter({ hasText: 'FORBIDDEN' }).count()) > 0, 'the users view of a plain user does not show the API refusal');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  step('two-factor sign-in; a plain user is refused by the API; sign out');

  check(external.length === 0, `requests left 127.0.0.1: ${external.join(', ')}`);
  check(problems.length === 0, problems.join('\n'));
  console.log(`test:browser: ok in ${((Date.now() - started) / 1000).toFixed(1)} s (Chromium ${browser.version()})`);
  await stop();
  process.exit(0);
} catch (err) {
  await fail(err instanceof Error ? err.message : String(err));
}
