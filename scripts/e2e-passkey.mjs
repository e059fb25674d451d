/* global isSecureContext, location, navigator, PublicKeyCredential, WebSocket -- ceremony() runs in the page; WebSocket is Node 20 --experimental-websocket */
// End-to-end passkey run in headless Chromium with its CDP virtual authenticator, against a
// running `npm run dev`. No npm dependency: raw CDP over WebSocket (Node 20: --experimental-websocket).
//   PORT=8797 npm run dev -- --var WEBAUTHN_ORIGINS:http://localhost:8797 &
//   node --experimental-websocket scripts/e2e-passkey.mjs http://localhost:8797
// The page is /docs: the API's JSON responses carry CSP `default-src 'none'`, which blocks fetch.
// Registers a user, enrols a passkey with navigator.credentials.create(), signs in with
// navigator.credentials.get() (discoverable, no email), lists and deletes it, and checks that a
// deleted passkey no longer signs in. Exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const origin = process.argv[2] ?? 'http://localhost:8787';
const debugPort = Number(process.env.CDP_PORT ?? 9333);
const profile = mkdtempSync(join(tmpdir(), 'e2e-passkey-'));
const chrome = spawn(process.env.CHROMIUM ?? 'chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-proxy-server', '--host-resolver-rules=MAP localhost 127.0.0.1', `--remote-debugging-port=${debugPort}`, `--user-data-dir=${profile}`, 'about:blank'], { stdio: 'ignore' });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function pageTarget() {
  for (let i = 0; i < 50; i++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${debugPort}/json/list`)).json();
      const page = list.find((t) => t.type === 'page');
      if (page) return page.webSocketDebuggerUrl;
    } catch {
      // Chromium not listening yet.
    }
    await sleep(200);
  }
  throw new Error('Chromium did not start');
}

let ws;
let nextId = 0;
const pending = new Map();
function send(method, params = {}) {
  const id = ++nextId;
  ws.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}

// Runs in the page, at the API's origin (a secure context: localhost).
async function ceremony() {
  const api = (path, body, token) =>
    fetch(`/api/v1${path}`, { method: body === undefined ? 'GET' : path.includes('/passkeys/') && body === null ? 'DELETE' : 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const out = {};
  if (!isSecureContext) throw new Error(`not a secure context: ${location.href}`);
  const email = `e2e-${Date.now().toString(36)}@example.com`;
  const reg = await api('/auth/register', { email, password: 'correct horse battery staple e2e' });
  out.register = reg.status;
  const { accessToken, user } = await reg.json();
  const ro = await (await api('/auth/passkeys/register/options', {}, accessToken)).json();
  const created = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(ro.options) });
  const rv = await api('/auth/passkeys/register/verify', { challengeId: ro.challengeId, name: 'Chromium virtual', credential: created.toJSON() }, accessToken);
  out.registerVerify = rv.status;
  const passkey = await rv.json();
  const lo = await (await api('/auth/passkeys/login/options', {})).json();
  const got = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(lo.options) });
  const lv = await api('/auth/passkeys/login/verify', { challengeId: lo.challengeId, credential: got.toJSON() });
  out.loginVerify = lv.status;
  out.sameUser = (await lv.json()).user?.id === user.id;
  out.listed = (await (await api('/auth/passkeys', undefined, accessToken)).json()).data.length;
  out.delete = (await fetch(`/api/v1/auth/passkeys/${passkey.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${accessToken}` } })).status;
  const lo2 = await (await api('/auth/passkeys/login/options', {})).json();
  const got2 = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(lo2.options) });
  out.afterDelete = (await api('/auth/passkeys/login/verify', { challengeId: lo2.challengeId, credential: got2.toJSON() })).status;
  return out;
}

let code = 1;
try {
  ws = new WebSocket(await pageTarget());
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = j;
  });
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  };
  await send('Page.enable');
  const nav = await send('Page.navigate', { url: `${origin}/docs` });
  if (nav.errorText) throw new Error(`navigation: ${nav.errorText}`);
  await sleep(1500);
  await send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const res = await send('Runtime.evaluate', { expression: `(${ceremony.toString()})()`, awaitPromise: true, returnByValue: true });
  if (res.exceptionDetails) throw new Error(res.exceptionDetails.exception?.description ?? res.exceptionDetails.text);
  const out = res.result.value;
  const { credentials } = await send('WebAuthn.getCredentials', { authenticatorId });
  out.authenticatorCredentials = credentials.length;
  out.signCount = credentials[0]?.signCount;
  console.log(JSON.stringify(out));
  const ok = out.register === 201 && out.registerVerify === 201 && out.loginVerify === 200 && out.sameUser && out.listed === 1 && out.delete === 204 && out.afterDelete === 401;
  console.log(ok ? 'e2e passkey: PASS' : 'e2e passkey: FAIL');
  code = ok ? 0 : 1;
} catch (err) {
  console.error('e2e passkey: ERROR', err);
} finally {
  ws?.close();
  chrome.kill();
  await sleep(300);
  rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}
