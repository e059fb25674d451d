// One workerd (through Miniflare, the version wrangler uses) running every Worker the bench
// measures, each on its own direct socket on 127.0.0.1 so no proxy sits in the path: the app
// with the bindings wrangler.toml declares (read at run time, never hard-coded), the app again
// with the rate limiter switched off, the baselines and the probes.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } from 'wrangler';
import { childPids, onCleanup, trackPid, untrackPid } from './proc.mjs';

const LOOPBACK = '127.0.0.1';

/** A fresh Ed25519 signing key ring, like scripts/ensure-dev-vars.mjs (never the developer's). */
function freshSigningKeys() {
  const { privateKey } = generateKeyPairSync('ed25519');
  return JSON.stringify([{ ...privateKey.export({ format: 'jwk' }), kid: `bench-${randomUUID().slice(0, 8)}`, alg: 'EdDSA' }]);
}

function stringVars(vars) {
  return Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/**
 * Rate-limit vars ("<limit>/<window s>") set so no tier trips during a run while every key's
 * log stays the size real traffic gives it. The limit becomes the Durable Object's largest
 * accepted one (100 000). The auth tier keeps its window: its durable log is cleaned by an
 * alarm at the window's end, which then falls after the run instead of landing inside another
 * row. General tiers count in memory; a 10 s window bounds a hammered key's log to 10 s of
 * traffic (a real user's log is bounded by the real limit).
 */
export function raisedLimits(vars) {
  const out = {};
  for (const [k, v] of Object.entries(vars)) {
    const m = /^RATE_LIMIT_[A-Z_]+$/.test(k) ? /^\d+\/(\d+)$/.exec(v) : null;
    if (m) out[k] = `100000/${k === 'RATE_LIMIT_AUTH' ? m[1] : 10}`;
  }
  return out;
}

const direct = () => [{ host: LOOPBACK, port: 0 }];

/**
 * Explicit module list (Miniflare 5 does not locate imports itself): the entry first, then
 * every `.wasm` module of the directory (bundles are single-file JavaScript), named relative to it.
 */
function moduleList(scriptPath) {
  const dir = path.dirname(scriptPath);
  const wasm = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  return {
    modulesRoot: dir,
    modules: [{ type: 'ESModule', path: scriptPath }, ...wasm.map((f) => ({ type: 'CompiledWasm', path: path.join(dir, f) }))],
  };
}

function startupProbe(name, dir, main, modules) {
  // Imports the bundle on the first request and times it inside the Worker: module
  // instantiation and top-level evaluation, i.e. the Worker's startup work.
  const entry = `
    let startupMs;
    export default {
      async fetch() {
        if (startupMs === undefined) {
          const t0 = performance.now();
          await import('./${main}');
          startupMs = performance.now() - t0;
        }
        return Response.json({ startupMs });
      },
    };`;
  return {
    name,
    modulesRoot: dir,
    modules: [
      { type: 'ESModule', path: path.join(dir, `__bench_${name}.mjs`), contents: entry },
      ...modules.map((f) => ({ type: f.endsWith('.wasm') ? 'CompiledWasm' : 'ESModule', path: path.join(dir, f) })),
    ],
    unsafeDirectSockets: direct(),
  };
}

/**
 * Starts the instance. `limiterOffVars` are the vars that switch the rate limiter off in the
 * `app-nolimit` copy (see rows.mjs). Returns URLs by worker name, the workerd pids and `stop()`.
 */
export async function startInstance({ configPath, tmp, app, baselines, peers, limiterOffVars, startupProbes, logSink, inspector }) {
  // An empty env file: wrangler must not pick up the developer's .dev.vars secrets.
  mkdirSync(tmp, { recursive: true });
  const emptyEnv = path.join(tmp, 'empty.env');
  writeFileSync(emptyEnv, '');
  // wrangler's info lines go to stdout, which --json reserves for the summary.
  const logLevel = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = 'warn';
  let config, workerOptions;
  try {
    config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
    ({ workerOptions } = unstable_getMiniflareWorkerOptions(config, undefined, { envFiles: [emptyEnv] }));
  } finally {
    if (logLevel === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = logLevel;
  }
  const vars = stringVars(config.vars);
  // Fresh per run, like scripts/ensure-dev-vars.mjs: device tokens and refresh-child derivation need it.
  const secrets = { JWT_SIGNING_KEYS: freshSigningKeys(), DEVICE_TOKEN_SECRET: randomBytes(32).toString('base64url') };
  const compat = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags ?? [] };

  // Module rules only matter to a bundler; the bundle's modules are listed explicitly.
  const { modulesRules: _rules, ...bindingOptions } = workerOptions;
  const appWorker = (name, extraVars, consumeQueues) => ({
    ...bindingOptions,
    name,
    ...moduleList(path.join(app.dir, app.main)),
    bindings: { ...vars, ...secrets, ...raisedLimits(vars), ...extraVars },
    // One consumer per queue: the limiter-off copy only produces.
    queueConsumers: consumeQueues ? workerOptions.queueConsumers : undefined,
    cronTriggers: undefined,
    unsafeDirectSockets: direct(),
  });
  const plain = (name, scriptPath, extra = {}) => ({ name, ...moduleList(scriptPath), ...compat, unsafeDirectSockets: direct(), ...extra });

  const workers = [
    appWorker('app', {}, true),
    appWorker('app-nolimit', limiterOffVars, false),
    plain('const', baselines.const),
    plain('hono', baselines.hono),
    plain('irreducible', baselines.irreducible, {
      // Same D1 database ids as the app: the baseline reads the very rows the app reads.
      d1Databases: { AUTH_DB: workerOptions.d1Databases.AUTH_DB, APP_DB: workerOptions.d1Databases.APP_DB },
      bindings: { JWT_SIGNING_KEYS: secrets.JWT_SIGNING_KEYS, JWT_ISSUER: vars.JWT_ISSUER, JWT_AUDIENCE: vars.JWT_AUDIENCE },
    }),
    plain('password-probe', baselines.passwordProbe),
    // Better Auth on its own D1 database (its schema, not ours), nodejs_compat as its docs ask.
    // Only when the caller built the peer (the bench does; the soak harness does not).
    ...(peers?.betterAuth
      ? [
          plain('better-auth', peers.betterAuth, {
            compatibilityFlags: [...new Set([...compat.compatibilityFlags, 'nodejs_compat'])],
            d1Databases: { BA_DB: 'bench-better-auth' },
            bindings: { BETTER_AUTH_SECRET: randomBytes(32).toString('base64url') },
          }),
        ]
      : []),
    ...startupProbes.map((p) => ({ ...startupProbe(p.name, p.dir, p.main, p.modules), ...compat })),
  ];

  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: LOOPBACK,
      port: 0,
      // Placeholder Request.cf: no fetch of the real one from the network.
      cf: false,
      log: new Log(LogLevel.WARN),
      logRequests: false,
      // Only with --profile: the V8 inspector is how the profiler reaches the app's isolate.
      ...(inspector ? { inspectorPort: 0 } : {}),
      // Every console line of every Worker lands here instead of our stdout; a production
      // Worker pays for producing them too, so they are produced, only not printed.
      handleStructuredLogs: logSink,
      workers,
    }),
  );
  let pids = [];
  onCleanup(async () => {
    await mf.dispose();
    pids.forEach(untrackPid);
  });
  const startedAt = performance.now();
  await mf.ready;
  const readyMs = performance.now() - startedAt;
  pids = childPids('workerd');
  pids.forEach(trackPid);

  const urls = {};
  for (const w of workers) {
    const url = await mf.unsafeGetDirectURL(w.name);
    if (url.hostname !== LOOPBACK) throw new Error(`refusing to target ${url.host}: the bench only ever targets ${LOOPBACK}`);
    urls[w.name] = url.origin;
  }

  await applyMigrations(mf, config, path.dirname(configPath));
  return { mf, urls, pids, readyMs, vars, config };
}

/** Applies every migration file of every D1 database in wrangler.toml, in file-name order. */
async function applyMigrations(mf, config, configDir) {
  for (const db of config.d1_databases ?? []) {
    if (!db.migrations_dir) continue;
    const dir = path.resolve(configDir, db.migrations_dir);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const d1 = await mf.getD1Database(db.binding, 'app');
    for (const file of files) {
      const statements = unstable_splitSqlQuery(readFileSync(path.join(dir, file), 'utf8')).filter((s) => s.trim());
      if (statements.length > 0) await d1.batch(statements.map((s) => d1.prepare(s)));
    }
  }
}
