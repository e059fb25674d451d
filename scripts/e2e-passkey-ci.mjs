// CI wrapper of scripts/e2e-passkey.mjs: starts `npm run dev` on spare ports with localhost as a
// WebAuthn origin (a secure context for the browser), runs the passkey ceremony in headless
// Chromium's virtual authenticator, stops the server. Skips with a message when no Chromium.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean).find((p) => existsSync(p));
if (!chromium) {
  console.log('e2e:passkey: SKIPPED, no Chromium found; install it with scripts/ci-install-chromium.sh or set CHROMIUM_PATH.');
  process.exit(0);
}
const PORT = process.env.E2E_PORT ?? '8799';
const origin = `http://localhost:${PORT}`;
const dev = spawn(process.execPath, ['scripts/dev.mjs', '--var', `WEBAUTHN_ORIGINS:${origin}`, '--var', 'WEBAUTHN_RP_ID:localhost'], {
  env: { ...process.env, PORT, DEV_INBOX_SMTP_PORT: '1128', DEV_INBOX_HTTP_PORT: '8128' },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let output = '';
dev.stdout.on('data', (c) => (output += c));
dev.stderr.on('data', (c) => (output += c));
const stop = () => {
  try {
    process.kill(-dev.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
const deadline = Date.now() + 240_000;
while (!output.includes('app-ubr is running')) {
  if (Date.now() > deadline || dev.exitCode !== null) {
    console.error(`e2e:passkey: npm run dev did not start\n${output.slice(-3000)}`);
    stop();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 500));
}
const run = spawn(process.execPath, ['--experimental-websocket', 'scripts/e2e-passkey.mjs', origin], { stdio: 'inherit', env: { ...process.env, CHROMIUM: chromium } });
const code = await new Promise((resolve) => run.on('close', resolve));
stop();
if (code !== 0) console.error(`e2e:passkey: failed\n--- npm run dev output ---\n${output.slice(-3000)}`);
process.exit(code ?? 1);
