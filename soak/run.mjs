// `npm run soak` — the mixed-workload load test of issue 20 ("Must show" 1), with invariants
// checked directly in D1 afterwards. Plain workerd through Miniflare on 127.0.0.1 (the bench's
// instance: real local D1, KV, Durable Objects and queues), never the wrangler proxy.
//   npm run soak                 200 virtual clients for 60 s (the issue's figures)
//   npm run soak -- --ci         40 clients for 15 s (CI: well under 2 minutes on 2 cores)
//   npm run soak -- --clients N --duration S --json
// Load goes to `app-nolimit` (the app with RATE_LIMIT_BYPASS, honoured only in development):
// the run measures correctness under load, not the limiter, which would answer most of it 429.
// Exits 1 on any 5xx, any unexpected status, any network error or any broken invariant.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp, buildWorker } from '../bench/lib/build.mjs';
import { percentile, sequentialClient } from '../bench/lib/load.mjs';
import { installExitHandlers, runCleanups } from '../bench/lib/proc.mjs';
import { createFixture, LIMITER_OFF_VARS } from '../bench/lib/rows.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const TMP = path.join(ROOT, 'soak', '.tmp');
const API = '/api/v1';
const JSON_HEADERS = { 'content-type': 'application/json' };

const { values: args } = parseArgs({
  options: {
    ci: { type: 'boolean', default: false },
    clients: { type: 'string' },
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 9).join('\n').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`soak: Node ${process.versions.node}; wrangler and miniflare need Node 22+ (run it through npm: npm run soak).`);
  process.exit(1);
}
const positiveInt = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const settings = {
  clients: args.clients ? positiveInt(args.clients, 'clients') : args.ci ? 40 : 200,
  durationS: args.duration ? positiveInt(args.duration, 'duration') : args.ci ? 15 : 60,
  // How long the audit and notification queues may take to drain after the load stops.
  drainS: args.ci ? 30 : 90,
};
// Operators next to the users (1 per 20), so admin list and notification send get samples too.
settings.admins = Math.max(1, Math.ceil(settings.clients / 20));

const T0 = performance.now();
const log = (...m) => console.error(`soak [${((performance.now() - T0) / 1000).toFixed(1)}s]:`, ...m);
const workerErrors = [];
function logSink(entry) {
  if (entry.level === 'error') {
    workerErrors.push(String(entry.message ?? JSON.stringify(entry)).slice(0, 400));
  }
}

/** What each route must answer in this workload; anything else is a failure. */
const EXPECTED = {
  'POST /auth/register': 201,
  'POST /auth/login': 200,
  'GET /users/me': 200,
  'POST /auth/refresh': 200,
  'PATCH /users/:id': 200,
  'POST /auth/logout': 204,
  'GET /users': 200,
  'POST /notifications': 202,
};

const stats = Object.fromEntries(Object.keys(EXPECTED).map((r) => [r, { latencies: [], statuses: {} }]));
const failures = [];
const fail = (what) => {
  if (failures.length < 50) failures.push(what);
  else failures[49] = `… and more (last: ${what})`;
};
let networkErrors = 0;

const sha256Hex = (s) => createHash('sha256').update(s).digest('hex');
const sessionOf = (refreshToken) => refreshToken.split('.')[0];

/** One call: records latency and status; returns the response or null (network error / unexpected). */
async function call(client, route, req) {
  let res;
  try {
    res = await client.send(req);
  } catch (err) {
    networkErrors++;
    fail(`${route}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  const s = stats[route];
  s.statuses[res.status] = (s.statuses[res.status] ?? 0) + 1;
  s.latencies.push(res.ms);
  if (res.status !== EXPECTED[route]) {
    fail(`${route} → ${res.status} ${res.text.slice(0, 200)}`);
    return null;
  }
  return res;
}

// What the clients saw acknowledged: the invariants are counted against these.
const acked = {
  registered: new Map(), // user public id → { registerSession }
  fullNames: new Map(), // user public id → last acknowledged fullName
  sessions: new Map(), // session public id → latest refresh token the client holds (live sessions)
  spentTokens: [], // refresh tokens the client rotated away (must all be dead)
  loggedOut: new Set(), // session public ids whose logout answered 204
  loggedOutUsers: new Set(), // their users (one logout per user in this workload)
  notifications: 0,
};

let seq = 0;
/** One user's life: register, login, me, refresh, profile update, logout. */
async function userLoop(client, deadline) {
  while (performance.now() < deadline) {
    const n = ++seq;
    const email = `soak-${process.pid}-${n}-${randomBytes(3).toString('hex')}@example.com`;
    const password = `Soak-${randomBytes(12).toString('base64url')}-7`;
    const ip = `198.18.${(n >> 8) & 255}.${n & 255}`;
    const headers = { ...JSON_HEADERS, 'CF-Connecting-IP': ip };
    const reg = await call(client, 'POST /auth/register', { method: 'POST', path: `${API}/auth/register`, headers, body: JSON.stringify({ email, password, fullName: 'Soak User' }) });
    if (!reg) continue;
    const regPair = JSON.parse(reg.text);
    const userId = regPair.user.id;
    acked.registered.set(userId, sessionOf(regPair.refreshToken));
    acked.sessions.set(sessionOf(regPair.refreshToken), regPair.refreshToken);
    acked.fullNames.set(userId, 'Soak User');

    const login = await call(client, 'POST /auth/login', { method: 'POST', path: `${API}/auth/login`, headers, body: JSON.stringify({ email, password }) });
    if (!login) continue;
    let pair = JSON.parse(login.text);
    const sid = sessionOf(pair.refreshToken);
    acked.sessions.set(sid, pair.refreshToken);
    const bearer = () => ({ 'CF-Connecting-IP': ip, Authorization: `Bearer ${pair.accessToken}` });

    const me = await call(client, 'GET /users/me', { path: `${API}/users/me`, headers: bearer() });
    if (!me) continue;

    const ref = await call(client, 'POST /auth/refresh', { method: 'POST', path: `${API}/auth/refresh`, headers, body: JSON.stringify({ refreshToken: pair.refreshToken }) });
    if (!ref) continue;
    acked.spentTokens.push(pair.refreshToken);
    pair = JSON.parse(ref.text);
    acked.sessions.set(sid, pair.refreshToken);

    const fullName = `Soak User ${n}`;
    const patch = await call(client, 'PATCH /users/:id', {
      method: 'PATCH',
      path: `${API}/users/${userId}`,
      headers: { ...JSON_HEADERS, ...bearer(), ...(me.headers.etag ? { 'If-Match': me.headers.etag } : {}) },
      body: JSON.stringify({ fullName }),
    });
    if (patch) acked.fullNames.set(userId, fullName);

    const out = await call(client, 'POST /auth/logout', { method: 'POST', path: `${API}/auth/logout`, headers: bearer() });
    if (out) {
      acked.loggedOut.add(sid);
      acked.loggedOutUsers.add(userId);
      acked.sessions.delete(sid);
    }
  }
}

/** The operator: lists users and sends notifications to users registered so far. */
async function adminLoop(client, fixture, deadline) {
  const headers = { ...JSON_HEADERS, Authorization: `Bearer ${fixture.accessToken}`, 'CF-Connecting-IP': '203.0.113.50' };
  let i = 0;
  while (performance.now() < deadline) {
    await call(client, 'GET /users', { path: `${API}/users?limit=20`, headers });
    const users = [...acked.registered.keys()];
    const userId = users.length > 0 ? users[i++ % users.length] : fixture.userId;
    const res = await call(client, 'POST /notifications', {
      method: 'POST',
      path: `${API}/notifications`,
      headers: { ...headers, 'Idempotency-Key': `soak-${randomUUID()}` },
      body: JSON.stringify({ userId, channels: ['in_app'], category: 'transactional', kind: 'soak.ping', content: { title: 'Soak', body: `ping ${i}` } }),
    });
    if (res) acked.notifications++;
  }
}

const chunks = (arr, n) => Array.from({ length: Math.ceil(arr.length / n) }, (_, i) => arr.slice(i * n, i * n + n));

/** Rows of `sql` (with one `IN (…)` placeholder `%IN%`) for every value, in chunks D1 accepts. */
async function allIn(db, sql, values) {
  const out = [];
  for (const part of chunks(values, 90)) {
    const res = await db
      .prepare(sql.replace('%IN%', part.map(() => '?').join(',')))
      .bind(...part)
      .all();
    out.push(...res.results);
  }
  return out;
}

async function checkInvariants(mf, fixture) {
  const auth = await mf.getD1Database('AUTH_DB', 'app');
  const app = await mf.getD1Database('APP_DB', 'app');
  const logs = await mf.getD1Database('LOGS_DB', 'app');
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok, detail });

  const userIds = [...acked.registered.keys()];
  const found = await allIn(auth, 'SELECT public_id FROM users WHERE deleted_at IS NULL AND public_id IN (%IN%)', userIds);
  check('every 201 registration is a user in AUTH_DB', found.length === userIds.length, `${found.length} of ${userIds.length} acknowledged`);

  const profiles = await allIn(app, 'SELECT user_public_id AS id, full_name AS name FROM profiles WHERE user_public_id IN (%IN%)', userIds);
  const wrongNames = profiles.filter((p) => acked.fullNames.get(p.id) !== p.name).length + (userIds.length - profiles.length);
  check('every acknowledged profile write is the stored fullName', wrongNames === 0, `${wrongNames} of ${userIds.length} profiles differ or are missing`);

  const outIds = [...acked.loggedOut];
  const revoked = await allIn(auth, 'SELECT public_id FROM sessions WHERE revoked_at IS NOT NULL AND public_id IN (%IN%)', outIds);
  check('every 204 logout revoked its session', revoked.length === outIds.length, `${revoked.length} of ${outIds.length} revoked`);

  // One refresh_hash per session row: the family's live token is the one the client holds,
  // every token it rotated away is spent, and no current hash is also recorded as spent.
  const live = [...acked.sessions.entries()];
  const liveRows = await allIn(auth, 'SELECT public_id AS id, refresh_hash AS h, revoked_at AS r FROM sessions WHERE public_id IN (%IN%)', live.map(([id]) => id));
  const byId = new Map(liveRows.map((r) => [r.id, r]));
  const notHeld = live.filter(([id, token]) => byId.get(id)?.h !== sha256Hex(token) || byId.get(id)?.r !== null).length;
  check("each live session's only live refresh token is the client's latest", notHeld === 0, `${notHeld} of ${live.length} sessions disagree`);
  const spentHashes = acked.spentTokens.map(sha256Hex);
  const spentFound = await allIn(auth, 'SELECT token_hash FROM spent_refresh_tokens WHERE token_hash IN (%IN%)', spentHashes);
  check('every rotated-away refresh token is recorded spent', spentFound.length === spentHashes.length, `${spentFound.length} of ${spentHashes.length}`);
  const twoLive = await auth.prepare('SELECT count(*) AS n FROM sessions s JOIN spent_refresh_tokens t ON t.session_id = s.id AND t.token_hash = s.refresh_hash').first();
  const genMismatch = await auth
    .prepare('SELECT count(*) AS n FROM sessions s WHERE s.generation <> (SELECT count(*) FROM spent_refresh_tokens t WHERE t.session_id = s.id)')
    .first();
  check('no refresh family has two live tokens (current hash never spent)', twoLive.n === 0, `${twoLive.n} sessions`);
  check('every rotation recorded its spent token (generation = spent count)', genMismatch.n === 0, `${genMismatch.n} sessions differ`);

  const notes = await app.prepare("SELECT count(*) AS n FROM notifications WHERE kind = 'soak.ping'").first();
  check('every 202 notification send is a notification row', notes.n === acked.notifications, `${notes.n} rows for ${acked.notifications} acknowledged`);

  // Audit events go through the audit queue: poll, bounded, until every acknowledged
  // registration's and logout's event is in.
  const outUsers = [...acked.loggedOutUsers];
  const drainStart = performance.now();
  let registers;
  let logouts;
  let pending;
  for (;;) {
    registers = await allIn(logs, "SELECT DISTINCT target_id FROM audit_logs WHERE action = 'auth.register' AND outcome = 'success' AND target_id IN (%IN%)", userIds);
    logouts = await allIn(logs, "SELECT DISTINCT actor_id FROM audit_logs WHERE action = 'auth.logout' AND outcome = 'success' AND actor_id IN (%IN%)", outUsers);
    pending = (await app.prepare("SELECT count(*) AS n FROM notifications WHERE kind = 'soak.ping' AND status IN ('queued', 'sending')").first()).n;
    const done = registers.length >= userIds.length && logouts.length >= outUsers.length && pending === 0;
    if (done || performance.now() - drainStart > settings.drainS * 1000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const drained = `after ${((performance.now() - drainStart) / 1000).toFixed(1)} s of draining (bound ${settings.drainS} s)`;
  check('an auth.register audit event per acknowledged registration', registers.length === userIds.length, `${registers.length} of ${userIds.length} ${drained}`);
  check('an auth.logout audit event per acknowledged logout', logouts.length === outUsers.length, `${logouts.length} of ${outUsers.length} ${drained}`);
  const final = await app.prepare("SELECT status, count(*) AS n FROM notifications WHERE kind = 'soak.ping' GROUP BY status").all();
  check('every notification ended delivered, failed or suppressed', pending === 0, `${JSON.stringify(Object.fromEntries(final.results.map((r) => [r.status, r.n])))} ${drained}`);
  void fixture;
  return checks;
}

function routeTable() {
  return Object.entries(stats).map(([route, s]) => {
    const sorted = Float64Array.from(s.latencies).sort();
    const total = s.latencies.length;
    const fivexx = Object.entries(s.statuses).reduce((sum, [code, n]) => sum + (Number(code) >= 500 ? n : 0), 0);
    return { route, total, p50: percentile(sorted, 50), p99: percentile(sorted, 99), statuses: s.statuses, fivexx, unexpected: total - (s.statuses[EXPECTED[route]] ?? 0) };
  });
}

async function main() {
  const stop = installExitHandlers();
  const loadStart = os.loadavg()[0].toFixed(2);
  log(`building (${settings.clients} clients, ${settings.durationS} s)…`);
  // startInstance runs the bench's baselines alongside the app; they cost a few ms to bundle.
  const [app, ...baselines] = await Promise.all([
    buildApp({ root: ROOT, configPath: path.join(ROOT, 'wrangler.toml'), outdir: path.join(TMP, 'dist') }),
    ...['const', 'hono', 'irreducible', 'password-probe'].map((name) =>
      buildWorker({ entry: path.join(ROOT, 'bench', 'baselines', `${name}.worker.mjs`), outdir: path.join(TMP, 'baselines'), name }),
    ),
  ]);
  const { startInstance } = await import('../bench/lib/instance.mjs');
  const inst = await startInstance({
    configPath: path.join(ROOT, 'wrangler.toml'),
    tmp: TMP,
    app,
    baselines: { const: baselines[0], hono: baselines[1], irreducible: baselines[2], passwordProbe: baselines[3] },
    limiterOffVars: LIMITER_OFF_VARS,
    startupProbes: [],
    logSink,
  });
  const target = inst.urls['app-nolimit'];
  log(`bundle ${app.gzipKiB.toFixed(2)} KiB gzip; workerd ready in ${inst.readyMs.toFixed(0)} ms; load goes to app-nolimit (${target}), queues consumed by app`);

  const fixture = await createFixture(target);
  const auth = await inst.mf.getD1Database('AUTH_DB', 'app');
  await auth
    .prepare("INSERT OR IGNORE INTO user_roles (public_id, created_at, updated_at, user_id, role_id) SELECT ?1, ?2, ?2, u.id, r.id FROM users u, roles r WHERE u.public_id = ?3 AND r.name = 'admin'")
    .bind(randomUUID(), Date.now(), fixture.userId)
    .run();

  const clients = Array.from({ length: settings.clients + settings.admins }, () => sequentialClient(target, { timeoutMs: 180_000 }));
  const started = performance.now();
  const deadline = started + settings.durationS * 1000;
  log(`load: ${settings.clients} user clients + ${settings.admins} admin clients for ${settings.durationS} s…`);
  const admins = clients.slice(0, settings.admins).map((c) => adminLoop(c, fixture, deadline));
  await Promise.all([...admins, ...clients.slice(settings.admins).map((c) => userLoop(c, deadline))]);
  const loadS = (performance.now() - started) / 1000;
  clients.forEach((c) => c.close());
  log(`load done in ${loadS.toFixed(1)} s (the last iterations finish past the deadline); checking invariants…`);

  const routes = routeTable();
  const checks = await checkInvariants(inst.mf, fixture);
  const totalReq = routes.reduce((s, r) => s + r.total, 0);
  const summary = {
    command: `npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    settings,
    machine: { cpus: os.cpus().length, loadStart, loadEnd: os.loadavg()[0].toFixed(2) },
    loadS: Number(loadS.toFixed(1)),
    requests: totalReq,
    rps: Number((totalReq / loadS).toFixed(1)),
    networkErrors,
    workerErrors: workerErrors.length,
    routes,
    checks,
    failures,
  };
  const ok = failures.length === 0 && networkErrors === 0 && routes.every((r) => r.unexpected === 0) && checks.every((c) => c.ok);
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–').padStart(10);
    const lines = [
      '',
      `${summary.command}: ${settings.clients} clients + ${settings.admins} admins, ${summary.loadS} s, ${totalReq} requests (${summary.rps} req/s), load avg ${loadStart} → ${summary.machine.loadEnd} on ${os.cpus().length} cores`,
      `${'route'.padEnd(22)}${'n'.padStart(7)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}  statuses`,
      ...routes.map((r) => `${r.route.padEnd(22)}${String(r.total).padStart(7)}${ms(r.p50)}${ms(r.p99)}  ${JSON.stringify(r.statuses)}`),
      '',
      ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
      `${networkErrors === 0 ? 'ok  ' : 'FAIL'} network errors: ${networkErrors}; Worker error-level log lines: ${workerErrors.length}`,
      ...failures.slice(0, 20).map((f) => `  ${f}`),
      '',
      ok ? 'soak: PASS' : 'soak: FAIL',
    ];
    console.log(lines.join('\n'));
  }
  if (!ok && workerErrors.length) console.error(`soak: last Worker errors:\n${workerErrors.slice(-10).join('\n')}`);
  await runCleanups();
  await stop(ok ? 0 : 1);
}

main().catch(async (err) => {
  console.error(`soak: ${err?.stack ?? err}`);
  if (workerErrors.length) console.error(`soak: last Worker errors:\n${workerErrors.slice(-10).join('\n')}`);
  await runCleanups();
  process.exit(1);
});
