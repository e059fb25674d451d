// The measurements beside the load table: smoke checks, the load rows in interleaved rounds,
// limiter overhead (one request in flight), login CPU, argon2id in-Worker and Worker startup.
import { median, pairedLatency, runLoad, sequentialClient, sequentialCpu } from './load.mjs';
import { startCpuMeter } from './proc.mjs';
import { autocannonRequests, freshAuthVary, LIMITER_OFF_VARS, requestAt } from './rows.mjs';

/**
 * One request on a fresh connection, retried once on a connection error (a socket the runtime
 * closed after a load run must not fail the whole bench).
 */
async function once(origin, request) {
  for (let attempt = 0; ; attempt++) {
    const client = sequentialClient(origin);
    try {
      return await client.send(request);
    } catch (err) {
      if (attempt > 0) throw err;
    } finally {
      client.close();
    }
  }
}

async function getJson(url) {
  const { origin, pathname, search } = new URL(url);
  const res = await once(origin, { path: `${pathname}${search}` });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text);
}

/** Sends one request of each row and checks its status: a broken harness fails here, early. */
export async function smoke(urls, rows) {
  for (const row of rows) {
    if (row.requests) continue; // chained rows (refresh) are exercised by the token pool
    const client = sequentialClient(urls[row.worker]);
    try {
      const res = await client.send(requestAt(row, 0));
      if (res.status !== row.expectStatus) throw new Error(`smoke ${row.id}: expected ${row.expectStatus}, got ${res.status}: ${res.text.slice(0, 300)}`);
    } finally {
      client.close();
    }
  }
}

/**
 * Warms every row once, then runs `rounds` rounds of all rows in order, so slow drift and
 * other processes' bursts hit every row alike. `beforeRun(row, round)` may return a profiler.
 */
export async function runRows({ rows, urls, pids, settings, log, beforeRun }) {
  const runs = Object.fromEntries(rows.map((r) => [r.id, []]));
  const once = async (row, durationS, record) => {
    if (row.before) await row.before();
    return runLoad({
      url: `${urls[row.worker]}${row.path}`,
      method: row.method ?? 'GET',
      headers: row.headers,
      body: row.body,
      requests: autocannonRequests(row),
      connections: row.conns,
      durationS,
      expectStatus: row.expectStatus,
      pids,
      record,
    });
  };
  // Rows that cycle keys touch each of them once first, so rounds measure existing keys.
  for (const row of rows.filter((r) => r.prepare)) {
    const client = sequentialClient(urls[row.worker]);
    try {
      for (let i = 0; i < row.prepare; i++) await client.send(requestAt(row, i));
    } finally {
      client.close();
    }
  }
  if (settings.warmupS > 0) {
    for (const row of rows) await once(row, settings.warmupS, false);
    log('warm-up done');
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const row of rows) {
      const profiler = await beforeRun?.(row, round);
      const r = await once(row, settings.durationS, true);
      if (profiler) await profiler.stop(r);
      runs[row.id].push(r);
      log(
        `round ${round + 1}/${settings.rounds} ${row.id}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.cpuUsPerReq.toFixed(0)} µs CPU/req` +
          (r.unexpected ? `, ${r.unexpected} unexpected ${JSON.stringify(r.statuses)}` : ''),
      );
    }
  }
  return runs;
}

/**
 * Whether the limiter answers on the app and is really off in the copy: limited responses
 * carry RateLimit-* headers. Without both, the limiter pairs are reported as n/a.
 */
async function limiterState(urls, accessToken) {
  const probe = async (origin) => {
    const res = await once(origin, { path: '/api/v1/users/me', headers: { Authorization: `Bearer ${accessToken}` } });
    return 'ratelimit-limit' in res.headers || 'x-ratelimit-limit' in res.headers;
  };
  if (!(await probe(urls.app))) return { active: false, reason: 'no RateLimit headers from the app: limiter not active in this build' };
  if (await probe(urls['app-nolimit'])) return { active: false, reason: `limiter still active with ${JSON.stringify(LIMITER_OFF_VARS)}: off switch not honoured` };
  return { active: true };
}

const PAIRS = [
  ['general', 'me', 'me-nolimit', 'GET /users/me (standard tier)'],
  ['auth', 'auth-tier', 'auth-tier-nolimit', 'POST /auth/register → 400 (auth tier, existing keys)'],
  ['authNewKeys', 'auth-tier', 'auth-tier-nolimit', 'POST /auth/register → 400 (auth tier, new IP and account every request)', freshAuthVary],
];

/**
 * Limiter on vs off: latency with one request in flight, A and B alternated request by
 * request; CPU per request from sequential blocks (CPU cannot be split between alternated
 * requests) and from the load rows.
 */
export async function measureLimiter({ rows, runs, urls, pids, accessToken, n, log }) {
  const out = {};
  const state = await limiterState(urls, accessToken);
  for (const [key, onId, offId, label, vary] of PAIRS) {
    const found = [rows.find((r) => r.id === onId), rows.find((r) => r.id === offId)];
    if (!found[0] || !found[1]) continue;
    const [on, off] = found.map((row) => (vary ? { ...row, vary } : row));
    // New keys are expensive to create: fewer of them, and no warm-up that would spend them.
    const count = vary ? Math.ceil(n / 5) : n;
    const side = (row) => ({ origin: urls[row.worker], expectStatus: row.expectStatus, request: (i) => requestAt(row, i) });
    const r = await pairedLatency({ a: side(on), b: side(off), n: count, warmup: vary ? 0 : 50 });
    const seqOn = await sequentialCpu({ side: side(on), n: Math.ceil(count / 2), pids });
    const seqOff = await sequentialCpu({ side: side(off), n: Math.ceil(count / 2), pids });
    const loaded = median(runs[onId].map((x) => x.cpuUsPerReq)) - median(runs[offId].map((x) => x.cpuUsPerReq));
    out[key] = {
      label,
      p50On: r.p50A,
      p50Off: r.p50B,
      deltaMs: r.deltaMs,
      n: r.n,
      unexpected: { on: r.unexpected.a + seqOn.unexpected, off: r.unexpected.b + seqOff.unexpected },
      cpuDeltaUsSequential: seqOn.cpuUsPerReq - seqOff.cpuUsPerReq,
      cpuDeltaUsLoaded: loaded,
      ...state,
    };
    log(
      `limiter ${key}: p50 on ${r.p50A.toFixed(3)} ms, off ${r.p50B.toFixed(3)} ms, Δ ${r.deltaMs.toFixed(3)} ms; ` +
        `CPU Δ ${out[key].cpuDeltaUsSequential.toFixed(0)} µs/req one in flight, ${loaded.toFixed(0)} under load${state.active ? '' : ` (${state.reason})`}`,
    );
  }
  return out;
}

/**
 * argon2id alone in the probe Worker, then sequential logins with the workerd CPU they cost.
 * Both start after `quietMs`, so queue batches of earlier rows (audit writes) have been
 * delivered and do not land in these figures; the logins' own audit batches are delivered
 * after the meter stops (they are not request-path work).
 */
export async function measureLogin({ urls, pids, fixture, logins, argon2Samples, quietMs = 2_500 }) {
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  // A first request instantiates the wasm and faults its 19 MiB of memory in (once per
  // isolate); the measured one hashes once, then verifies n times: CPU over n + 1 runs.
  await getJson(`${urls['password-probe']}/?n=1`);
  const probeMeter = startCpuMeter(pids);
  const probe = await getJson(`${urls['password-probe']}/?n=${argon2Samples}`);
  const probeCpu = probeMeter.stop();
  // The same logins on the limiter-off copy: what the login costs beyond the hash without the
  // auth-tier limiter's Durable Object calls (its own figure, issue 13 item 2).
  const sequence = async (origin, ipPrefix) => {
    const client = sequentialClient(origin);
    const times = [];
    const meter = startCpuMeter(pids);
    try {
      for (let i = 0; i < logins; i++) {
        const res = await client.send({
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { 'content-type': 'application/json', 'CF-Connecting-IP': `${ipPrefix}.${(i % 250) + 1}` },
          body: JSON.stringify({ email: fixture.email, password: fixture.password }),
        });
        if (res.status !== 200) throw new Error(`sequential login ${i}: ${res.status} ${res.text.slice(0, 300)}`);
        times.push(res.ms);
      }
    } finally {
      client.close();
    }
    return { times, cpu: meter.stop() };
  };
  const { times, cpu } = await sequence(urls.app, '192.0.2');
  const noLimit = await sequence(urls['app-nolimit'], '192.0.3');
  return {
    n: logins,
    p50Ms: median(times),
    cpuMsPerLogin: cpu.targetMs / logins,
    cpuMsPerLoginNoLimit: noLimit.cpu.targetMs / logins,
    p50MsNoLimit: median(noLimit.times),
    argon2VerifyMs: median(probe.samples),
    argon2CpuMs: probeCpu.targetMs / (probe.samples.length + 1),
    argon2Samples: probe.samples.length,
    argon2Params: probe.params,
    timersAdvance: probe.timersAdvance,
  };
}

/** First request of each startup probe imports the bundle and reports the time it took. */
export async function measureStartup(urls, probes, readyMs) {
  const samples = [];
  for (const { name } of probes) {
    const t0 = performance.now();
    const first = await getJson(`${urls[name]}/`);
    const firstMs = performance.now() - t0;
    const t1 = performance.now();
    await getJson(`${urls[name]}/`);
    samples.push({ name, startupMs: first.startupMs, firstMs, warmMs: performance.now() - t1 });
  }
  const app = samples.filter((s) => s.name.startsWith('startup-app'));
  const bare = samples.filter((s) => s.name.startsWith('startup-const'));
  return {
    samples: app.length,
    appMs: median(app.map((s) => s.startupMs)),
    constMs: median(bare.map((s) => s.startupMs)),
    appFirstRequestMs: median(app.map((s) => s.firstMs)),
    warmRequestMs: median(app.map((s) => s.warmMs)),
    instanceReadyMs: readyMs,
  };
}
