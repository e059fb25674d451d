// Turns measurements into the summary (JSON), the console table and bench/RESULTS.md.
import { median } from './load.mjs';

const TARGETS = {
  hotPathThroughput: 0.8, // ≥ 80 % of the irreducible baseline's req/s
  hotPathP99: 2, // ≤ 2× the irreducible baseline's p99
  generalLimiterMs: 0.1,
  authLimiterMs: 1,
  bundleGzipKiB: 120, // issue 13 item 3 (was 150)
  loginCpuMs: 40,
  loginOverheadMs: 5, // issue 13 item 4: login CPU beyond the argon2id hash
  vsBetterAuthD1: 3, // issue 13 item 5: /users/me req/s ≥ 3× Better Auth's D1 get-session
  vsBetterAuthCache: 1.2, // … and ≥ 1.2× its cookie-cache get-session
};

const round = (v, d = 2) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);

/** Median over rounds of each figure of a row. */
export function summarizeRow(row, runs) {
  const pick = (k) => median(runs.map((r) => r[k]));
  const sum = (k) => runs.reduce((a, r) => a + r[k], 0);
  return {
    id: row.id,
    label: row.label,
    worker: row.worker,
    connections: row.conns,
    rounds: runs.length,
    rps: round(pick('rps'), 1),
    p50Ms: round(pick('p50'), 3),
    p99Ms: round(pick('p99'), 3),
    cpuUsPerReq: round(pick('cpuUsPerReq'), 1),
    // What one workerd core could serve at this CPU cost: immune to other processes' load.
    capacityRps: round(1e6 / pick('cpuUsPerReq'), 0),
    ok: sum('ok'),
    unexpected: sum('unexpected'),
    errors: sum('errors'),
    statuses: runs.reduce((acc, r) => {
      for (const [k, v] of Object.entries(r.statuses)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
    othersCpuPct: round(median(runs.map((r) => (100 * r.cpu.othersMs) / Math.max(1, r.cpu.machineTotalMs))), 1),
    loadGenPct: round(median(runs.map((r) => r.loadGenPct)), 0),
  };
}

export function addRatios(rows) {
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  for (const r of rows) {
    r.vsConst = byId.const?.rps ? round(r.rps / byId.const.rps, 3) : null;
    r.vsIrreducible = byId.irreducible?.rps ? round(r.rps / byId.irreducible.rps, 3) : null;
  }
  return byId;
}

function status(ok, measured) {
  if (measured === null || measured === undefined || Number.isNaN(measured)) return 'n/a';
  return ok ? 'met' : 'MISSED';
}

/** The issue's targets (item 5) against this run's figures. */
export function evaluateTargets({ byId, limiter, login, bundle }) {
  const me = byId.me;
  const irr = byId.irreducible;
  const out = [];
  const tp = me && irr ? me.rps / irr.rps : null;
  const cap = me && irr ? me.capacityRps / irr.capacityRps : null;
  out.push({
    target: 'hot path req/s ≥ 80 % of irreducible',
    measured: tp === null ? null : `${round(tp * 100, 1)} % measured; ${round(cap * 100, 1)} % by workerd CPU per request`,
    status: status(tp >= TARGETS.hotPathThroughput, tp),
  });
  const p99 = me && irr ? me.p99Ms / irr.p99Ms : null;
  out.push({ target: 'hot path p99 ≤ 2× irreducible p99', measured: p99 === null ? null : `${round(p99, 2)}× (${round(me.p99Ms, 1)} vs ${round(irr.p99Ms, 1)} ms)`, status: status(p99 <= TARGETS.hotPathP99, p99) });
  for (const [key, name, limit] of [
    ['general', 'general-tier limiter overhead ≤ 0.1 ms p50', TARGETS.generalLimiterMs],
    ['auth', 'auth-tier limiter overhead ≤ 1 ms p50', TARGETS.authLimiterMs],
  ]) {
    const l = limiter[key];
    const measured = l?.active ? l.deltaMs : null;
    out.push({ target: name, measured: l?.active ? `${round(l.deltaMs, 3)} ms` : `n/a: ${l?.reason ?? 'not measured'}`, status: status(measured <= limit, measured) });
  }
  for (const [peer, name, limit] of [
    ['ba-session', `/users/me ≥ ${TARGETS.vsBetterAuthD1}× Better Auth get-session (D1)`, TARGETS.vsBetterAuthD1],
    ['ba-session-cache', `/users/me ≥ ${TARGETS.vsBetterAuthCache}× Better Auth get-session (cookie cache)`, TARGETS.vsBetterAuthCache],
  ]) {
    const p = byId[peer];
    const ratio = me?.rps && p?.rps ? me.rps / p.rps : null;
    const cpuRatio = me?.cpuUsPerReq && p?.cpuUsPerReq ? p.cpuUsPerReq / me.cpuUsPerReq : null;
    const measured = ratio === null ? null : `${round(ratio, 2)}× req/s (${round(me.rps, 0)} vs ${round(p.rps, 0)}), ${round(cpuRatio, 2)}× by CPU per request; vs const ${round(me.vsConst * 100, 1)} % vs ${round(p.vsConst * 100, 1)} %`;
    out.push({ target: name, measured, status: status(ratio >= limit, ratio) });
  }
  out.push({ target: `bundle ≤ ${TARGETS.bundleGzipKiB} KiB gzip`, measured: `${round(bundle.gzipKiB, 2)} KiB`, status: status(bundle.gzipKiB <= TARGETS.bundleGzipKiB, bundle.gzipKiB) });
  const cpu = login?.cpuMsPerLogin ?? null;
  const hash = login?.argon2CpuMs;
  out.push({
    target: 'login ≤ 40 ms CPU (argon2id m=19456 t=2 p=1)',
    measured: cpu === null ? null : `${round(cpu, 1)} ms workerd CPU per login; argon2id alone ${round(hash, 1)} ms CPU, ${round(login.argon2VerifyMs, 1)} ms timed in the Worker`,
    status: status(cpu <= TARGETS.loginCpuMs, cpu),
  });
  const overhead = cpu !== null && Number.isFinite(hash) ? cpu - hash : null;
  out.push({
    target: `login overhead beyond the hash ≤ ${TARGETS.loginOverheadMs} ms CPU`,
    measured:
      overhead === null
        ? null
        : `${round(overhead, 1)} ms (${round(cpu, 1)} − ${round(hash, 1)} argon2id); limiter off: ${round(login.cpuMsPerLoginNoLimit - hash, 1)} ms (${round(login.cpuMsPerLoginNoLimit, 1)} ms per login)`,
    status: status(overhead <= TARGETS.loginOverheadMs, overhead),
  });
  return out;
}

/**
 * Where the hot path's CPU goes, by difference between rows of this run (workerd CPU µs per
 * request). Each step adds one thing to the previous row, so the steps sum to GET /users/me.
 */
export function hotPathBreakdown(byId) {
  const cpu = (id) => byId[id]?.cpuUsPerReq ?? null;
  const steps = [
    ['runtime, HTTP and a constant response (const)', null, 'const'],
    ['JWT verify + one D1 read (irreducible − const)', 'const', 'irreducible'],
    ['second D1 statement: APP_DB profile (irreducible-profile − irreducible)', 'irreducible', 'irreducible-profile'],
    ['Hono, middleware, logging, richer session query (users/me limiter off − irreducible-profile)', 'irreducible-profile', 'me-nolimit'],
    ['rate limiter, standard tier (users/me − limiter off)', 'me-nolimit', 'me'],
  ];
  const out = [];
  for (const [what, from, to] of steps) {
    const a = from ? cpu(from) : 0;
    const b = cpu(to);
    if (a === null || b === null) return null;
    out.push({ what, cpuUs: round(b - a, 0) });
  }
  const beyond = out.slice(2);
  const biggest = beyond.reduce((m, x) => (x.cpuUs > m.cpuUs ? x : m), beyond[0]);
  return { steps: out, totalUs: cpu('me'), biggest: biggest.what };
}

const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(d));
const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)} %`);

/** Rows whose load generator used this much of a core are bounded by it, not by workerd. */
const LOADGEN_BOUND_PCT = 85;

export function tableLines(rows) {
  const head = ['row', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s per core', 'vs const', 'vs irreducible', 'unexpected'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const mark = r.loadGenPct >= LOADGEN_BOUND_PCT ? ' †' : '';
    lines.push(
      `| ${r.label}${mark} | ${r.connections} | ${fmt(r.rps, 0)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.cpuUsPerReq, 0)} | ${fmt(r.capacityRps, 0)} | ${pct(r.vsConst)} | ${pct(r.vsIrreducible)} | ${r.unexpected} |`,
    );
  }
  if (rows.some((r) => r.loadGenPct >= LOADGEN_BOUND_PCT)) {
    lines.push('', `† the load generator (autocannon, one Node thread) used ≥ ${LOADGEN_BOUND_PCT} % of a core: req/s is its limit here, read req/s per core.`);
  }
  return lines;
}

export function markdown(summary, analysis) {
  const s = summary;
  const lines = [
    '# app-ubr benchmark results',
    '',
    `Generated by \`${s.command}\` on ${s.date}. Regenerate with the same command; figures are`,
    'noisy on shared 2-core machines, so read the ratios (same run, same machine) rather than',
    'the absolute numbers.',
    '',
    '## Machine',
    '',
    `- CPU: ${s.machine.cpus} × ${s.machine.cpuModel}; RAM ${s.machine.memGiB} GiB; ${s.machine.os}`,
    `- Node ${s.machine.node}; workerd ${s.machine.workerd} (miniflare ${s.machine.miniflare}, wrangler ${s.machine.wrangler}); autocannon ${s.machine.autocannon}`,
    `- Load average at start / end: ${s.machine.loadStart} / ${s.machine.loadEnd}; CPU used by other processes during the load rows (median): ${s.machine.othersCpuPct} % of the machine`,
    `- Settings: ${s.settings.rounds} interleaved round(s) × ${s.settings.durationS} s per row (+ ${s.settings.warmupS} s warm-up), ${s.settings.connections} connections unless stated; medians over rounds`,
    '',
    '## Throughput and latency',
    '',
    'Every row runs in the same workerd process, each Worker on its own direct socket on',
    '127.0.0.1 (no wrangler proxy). CPU µs/req is the workerd process CPU time (all threads, from',
    '/proc) divided by the responses of the row: runtime, Worker and local D1/KV/DO simulators.',
    '"req/s per core" is 10⁶ / CPU µs/req: what one core of workerd serves at that cost, a figure',
    "other processes' load does not move much (req/s and latency do). Ratios are of req/s.",
    '',
    ...tableLines(s.rows),
    '',
    ...(s.breakdown
      ? [
          '## Where the hot path goes (workerd CPU µs per request, by difference between rows)',
          '',
          '| step | µs/req |',
          '|---|---:|',
          ...s.breakdown.steps.map((x) => `| ${x.what} | ${x.cpuUs} |`),
          `| **GET /api/v1/users/me** | **${fmt(s.breakdown.totalUs, 0)}** |`,
          '',
          'Each step is the difference between two rows measured at different moments: a step within about ±100 µs of zero is noise.',
          '',
          `Biggest cost beyond the irreducible work in this run: **${s.breakdown.biggest}**.`,
          '',
        ]
      : []),
    '## Targets (issue 4, item 5)',
    '',
    '| target | measured | status |',
    '|---|---|---|',
    ...s.targets.map((t) => `| ${t.target} | ${t.measured ?? '–'} | ${t.status} |`),
    '',
    '## Rate limiter overhead (one request in flight, A/B alternated request by request)',
    '',
    '| pair | on p50 ms | off p50 ms | median paired Δ ms | CPU Δ µs/req, 1 in flight | CPU Δ µs/req, load rows | requests | note |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...['general', 'auth', 'authNewKeys'].map((k) => {
      const l = s.limiter[k];
      if (!l) return `| ${k} | – | – | – | – | – | – | not measured |`;
      return `| ${l.label} | ${fmt(l.p50On, 3)} | ${fmt(l.p50Off, 3)} | ${fmt(l.deltaMs, 3)} | ${fmt(l.cpuDeltaUsSequential, 0)} | ${fmt(l.cpuDeltaUsLoaded, 0)} | ${l.n} | ${l.active ? 'limiter active' : l.reason} |`;
    }),
    '',
    '## Login cost',
    '',
    `- Sequential logins (one in flight, ${s.login.n} logins): p50 ${fmt(s.login.p50Ms, 1)} ms wall, ${fmt(s.login.cpuMsPerLogin, 1)} ms workerd CPU per login (process CPU time from /proc, whole request: argon2id, D1 reads and writes, JWT signing).`,
    `- argon2id alone (\`src/security/password.ts\`, parameters ${JSON.stringify(s.login.argon2Params)}), in a probe Worker: ${fmt(s.login.argon2CpuMs, 1)} ms workerd CPU per hash (process CPU over ${s.login.argon2Samples + 1} hashes); timed inside the Worker with performance.now(): median ${fmt(s.login.argon2VerifyMs, 1)} ms per verification. ${s.login.timersAdvance ? 'Local workerd advances timers during synchronous work (checked with a busy loop in the same request; production freezes them), so the in-Worker figure is the thread\'s wall time: equal to CPU time on an idle machine, inflated when other processes take the core.' : 'Timers did not advance during synchronous work here, so the in-Worker figure is not usable; read the process CPU figure.'}`,
    '',
    '## Bundle and startup',
    '',
    `- Bundle (${s.bundle.sizeSource}): ${fmt(s.bundle.uploadKiB, 2)} KiB upload, **${fmt(s.bundle.gzipKiB, 2)} KiB gzip** (${s.bundle.modules.join(', ')}).`,
    ...(s.bundle.composition
      ? [
          `- Largest parts of \`${s.bundle.modules.find((m) => m.endsWith('.js')) ?? 'index.js'}\` (raw bytes attributed through the source map; gzip shrinks them unevenly): ${s.bundle.composition
            .slice(0, 10)
            .map((c) => `${c.name} ${c.kib} KiB (${c.pct} %)`)
            .join(', ')}.`,
        ]
      : []),
    `- Startup (module instantiation + top-level evaluation of the deployed bundle, timed inside workerd on the first request that imports it; median of ${s.startup.samples}): **${fmt(s.startup.appMs, 2)} ms** (bare constant Worker measured the same way: ${fmt(s.startup.constMs, 2)} ms). First-request wall time from the client: ${fmt(s.startup.appFirstRequestMs, 1)} ms vs ${fmt(s.startup.warmRequestMs, 2)} ms warm.`,
    `- workerd with every Worker of the bench ready in ${fmt(s.startup.instanceReadyMs, 0)} ms (process start included; not a per-Worker figure).`,
    '',
  ];
  if (analysis) lines.push('## Analysis', '', analysis.trim(), '');
  return lines.join('\n');
}
