// `npm run bench` — how fast app-ubr is against the physical limit, in one run.
//   npm run bench                      full run (≈ 3 min on 2 cores), writes bench/RESULTS.md
//   npm run bench -- --quick           < 1 min, for CI (fails only if the harness breaks)
//   npm run bench -- --json            prints the summary as JSON on stdout
//   npm run bench -- --rows me,irreducible --profile me
// Options: --rounds N --duration S --connections N --out FILE --no-write --profile ROW --config FILE
//   --render: rewrite RESULTS.md from the last run's bench/.tmp/summary.json (after editing analysis.md)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp, buildWorker } from './lib/build.mjs';
import { bundleComposition } from './lib/bundle.mjs';
import { median } from './lib/load.mjs';
import { measureLimiter, measureLogin, measureStartup, runRows, smoke } from './lib/measure.mjs';
import { installExitHandlers, runCleanups } from './lib/proc.mjs';
import { attachProfiler } from './lib/profile.mjs';
import { addRatios, evaluateTargets, hotPathBreakdown, markdown, summarizeRow, tableLines } from './lib/report.mjs';
import { createFixture, defineRows, LIMITER_OFF_VARS, seedSearch, setupPeers, tokenPool } from './lib/rows.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const TMP = path.join(ROOT, 'bench', '.tmp');
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    rows: { type: 'string' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    profile: { type: 'string' },
    config: { type: 'string', default: 'wrangler.toml' },
    render: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 7).join('\n').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`bench: Node ${process.versions.node}; wrangler and miniflare need Node 22+ (run it through npm: npm run bench).`);
  process.exit(1);
}

const positive = (v, name) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const settings = {
  rounds: args.rounds ? Math.ceil(positive(args.rounds, 'rounds')) : args.quick ? 1 : 3,
  durationS: args.duration ? positive(args.duration, 'duration') : args.quick ? 1.2 : 4,
  // Quick runs skip the warm-up: the smoke requests have loaded every Worker already.
  warmupS: args.quick ? 0 : 1,
  connections: args.connections ? Math.ceil(positive(args.connections, 'connections')) : 50,
  pairs: args.quick ? 100 : 500,
  logins: args.quick ? 4 : 16,
  argon2Samples: args.quick ? 3 : 10,
  startupSamples: args.quick ? 1 : 3,
};
const CONFIG = path.resolve(ROOT, args.config);
const T0 = performance.now();
const log = (...m) => console.error(`bench [${((performance.now() - T0) / 1000).toFixed(1)}s]:`, ...m);

const logStats = { lines: 0, errors: [] };
function logSink(entry) {
  logStats.lines++;
  if (entry.level === 'error' || entry.level === 'warn') {
    logStats.errors.push(String(entry.message ?? JSON.stringify(entry)).slice(0, 400));
    if (logStats.errors.length > 20) logStats.errors.shift();
  }
}

function machine(rowSummaries, loadStart) {
  const version = (pkg) => require(`${pkg}/package.json`).version;
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    workerd: version('workerd'),
    miniflare: version('miniflare'),
    wrangler: version('wrangler'),
    autocannon: version('autocannon'),
    loadStart,
    loadEnd: os.loadavg()[0].toFixed(2),
    othersCpuPct: median(rowSummaries.map((r) => r.othersCpuPct)),
  };
}

function selectRows(all) {
  if (!args.rows) return all;
  const wanted = new Set(args.rows.split(','));
  const rows = all.filter((r) => wanted.has(r.id));
  if (rows.length === 0) throw new Error(`--rows matched nothing; ids: ${all.map((r) => r.id).join(', ')}`);
  return rows;
}

function printSummary(summary) {
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const b = summary.breakdown;
  const breakdown = b ? ['hot path, workerd CPU µs/req:', ...b.steps.map((x) => `  ${String(x.cpuUs).padStart(6)}  ${x.what}`), `  biggest beyond the irreducible: ${b.biggest}`, ''] : [];
  const targets = summary.targets.map((t) => `${t.status.padEnd(6)} ${t.target}: ${t.measured ?? '–'}`);
  console.log(['', ...tableLines(summary.rows), '', ...breakdown, ...targets, ''].join('\n'));
}

const SUMMARY = path.join(TMP, 'summary.json');

function writeResults(summary) {
  const out = args.out ? path.resolve(args.out) : path.join(ROOT, 'bench', 'RESULTS.md');
  const analysisFile = path.join(ROOT, 'bench', 'analysis.md');
  writeFileSync(out, markdown(summary, existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : ''));
  log(`wrote ${path.relative(ROOT, out)}`);
}

async function main() {
  if (args.render) {
    if (!existsSync(SUMMARY)) throw new Error(`--render needs a previous run's ${path.relative(ROOT, SUMMARY)}`);
    writeResults(JSON.parse(readFileSync(SUMMARY, 'utf8')));
    return;
  }
  const stop = installExitHandlers();
  const started = Date.now();
  const loadStart = os.loadavg()[0].toFixed(2);
  log(`building (${args.quick ? 'quick' : 'full'} run)…`);
  const [app, constJs, honoJs, irreducibleJs, passwordProbeJs, betterAuthJs] = await Promise.all([
    buildApp({ root: ROOT, configPath: CONFIG, outdir: path.join(TMP, 'dist') }),
    ...['const', 'hono', 'irreducible', 'password-probe'].map((name) =>
      buildWorker({ entry: path.join(ROOT, 'bench', 'baselines', `${name}.worker.mjs`), outdir: path.join(TMP, 'baselines'), name }),
    ),
    // Peers (bench/peers/): other auth stacks in the same workerd, never part of our bundle.
    buildWorker({ entry: path.join(ROOT, 'bench', 'peers', 'better-auth.worker.mjs'), outdir: path.join(TMP, 'peers'), name: 'better-auth' }),
  ]);
  log(`bundle ${app.gzipKiB.toFixed(2)} KiB gzip; starting workerd…`);
  const startupProbes = [];
  for (let i = 0; i < settings.startupSamples; i++) {
    startupProbes.push({ name: `startup-app-${i}`, dir: app.dir, main: app.main, modules: app.modules });
    startupProbes.push({ name: `startup-const-${i}`, dir: path.dirname(constJs), main: path.basename(constJs), modules: [path.basename(constJs)] });
  }
  // Imported here, after the Node version check: wrangler and miniflare need Node 22.
  const { startInstance } = await import('./lib/instance.mjs');
  const inst = await startInstance({
    configPath: CONFIG,
    tmp: TMP,
    app,
    baselines: { const: constJs, hono: honoJs, irreducible: irreducibleJs, passwordProbe: passwordProbeJs },
    peers: { betterAuth: betterAuthJs },
    limiterOffVars: LIMITER_OFF_VARS,
    startupProbes,
    logSink,
    inspector: Boolean(args.profile),
  });
  log(`workerd ready in ${inst.readyMs.toFixed(0)} ms (pids ${inst.pids.join(', ')})`);

  const startup = await measureStartup(inst.urls, startupProbes, inst.readyMs);
  const fixture = { ...(await createFixture(inst.urls.app)), peers: await setupPeers(inst.urls) };
  const pool = tokenPool(inst.urls.app, fixture);
  await seedSearch(inst.mf, fixture);
  const rows = selectRows(defineRows({ fixture, pool, conns: settings.connections }));
  await smoke(inst.urls, rows);

  const runs = await runRows({
    rows,
    urls: inst.urls,
    pids: inst.pids,
    settings,
    log,
    beforeRun: async (row, round) => {
      if (args.profile !== row.id || round !== 0) return null;
      const profiler = await attachProfiler(inst.mf, row.worker);
      return { stop: (r) => profiler.stopAndReport({ app, out: path.join(TMP, `profile-${row.id}.cpuprofile`), requests: r.total, log }) };
    },
  });
  const limiter = await measureLimiter({ rows, runs, urls: inst.urls, pids: inst.pids, accessToken: fixture.accessToken, n: settings.pairs, log });
  const login = await measureLogin({ urls: inst.urls, pids: inst.pids, fixture, logins: settings.logins, argon2Samples: settings.argon2Samples });
  log(`login: p50 ${login.p50Ms.toFixed(1)} ms, ${login.cpuMsPerLogin.toFixed(1)} ms CPU; argon2id alone ${login.argon2CpuMs.toFixed(1)} ms CPU`);

  const rowSummaries = rows.map((r) => summarizeRow(r, runs[r.id]));
  const byId = addRatios(rowSummaries);
  const bundle = { uploadKiB: app.uploadKiB, gzipKiB: app.gzipKiB, sizeSource: app.sizeSource, modules: app.modules, composition: bundleComposition(app.dir, app.main) };
  const summary = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: machine(rowSummaries, loadStart),
    settings,
    rows: rowSummaries,
    breakdown: hotPathBreakdown(byId),
    limiter,
    login,
    bundle,
    startup,
    workerLogLines: logStats.lines,
  };
  summary.targets = evaluateTargets({ byId, limiter, login, bundle });
  printSummary(summary);

  writeFileSync(SUMMARY, JSON.stringify(summary, null, 2));
  if (args.out || (!args.quick && !args['no-write'] && !args.rows)) writeResults(summary);
  for (const r of rowSummaries) {
    if (r.ok > 0 && r.unexpected > 0.01 * (r.ok + r.unexpected)) log(`warning: ${r.id} got ${r.unexpected} unexpected responses ${JSON.stringify(r.statuses)}`);
  }
  // A peer row (bench/peers/) that got no answer in time but no wrong one either is slow, not broken.
  const peerIds = new Set(rows.filter((r) => r.peer).map((r) => r.id));
  const broken = rowSummaries.filter((r) => r.ok === 0 && !(peerIds.has(r.id) && r.unexpected === 0 && r.errors === 0));
  if (broken.length > 0) log(`no expected response at all for: ${broken.map((r) => r.id).join(', ')}; last Worker errors:\n${logStats.errors.join('\n')}`);
  await runCleanups();
  await stop(broken.length > 0 ? 1 : 0);
}

main().catch(async (err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  if (logStats.errors.length) console.error(`bench: last Worker errors:\n${logStats.errors.join('\n')}`);
  await runCleanups();
  process.exit(1);
});
