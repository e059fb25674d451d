// Measures the password hash (src/security/password.ts: argon2id m=19456 KiB, t=2, p=1, the
// `argon2id` package with its .wasm imported as modules) INSIDE workerd, as production runs it.
//
//   node scripts/measure-hash.mjs [iterations=40]
//
// How: esbuild bundles a tiny Worker that imports src/security/password.ts unchanged (wasm kept
// as CompiledWasm modules, exactly like wrangler does), Miniflare runs it in workerd, and this
// process times N sequential requests at concurrency 1. Timing happens here, outside the isolate:
// workerd's clocks do not advance during pure CPU work, so `performance.now()` inside the Worker
// would report ~0 ms. A no-op request measured the same way is subtracted (loopback + dispatch).
// Memory: the argon2id WebAssembly.Memory size (captured from the loader's imports), and the
// workerd process RSS before/after hashing (read from /proc; Linux only).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';

const root = path.resolve(import.meta.dirname, '..');
const iterations = Number.parseInt(process.argv[2] ?? '40', 10);
if (!Number.isInteger(iterations) || iterations < 5) throw new Error('iterations must be an integer >= 5');
const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(root, 'wrangler.toml'), 'utf8'))?.[1];

// The Worker under test. WebAssembly.instantiate is wrapped (before the first hash) only to
// observe the Memory object argon2id allocates; the hashing code itself is untouched.
const ENTRY = `
import { hashPassword, verifyPassword, PASSWORD_PARAMS } from './src/security/password.ts';
import simdModule from 'argon2id/dist/simd.wasm';
let memory;
let simd = null;
const instantiate = WebAssembly.instantiate.bind(WebAssembly);
WebAssembly.instantiate = (mod, imports) => {
  memory ??= imports?.env?.memory;
  const result = instantiate(mod, imports);
  result.then(() => (simd ??= mod === simdModule), () => {});
  return result;
};
let lastHash;
export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/hash') {
      lastHash = await hashPassword('correct horse battery staple');
      return Response.json({ hash: lastHash });
    }
    if (pathname === '/verify') return Response.json({ ok: await verifyPassword('correct horse battery staple', lastHash) });
    if (pathname === '/info') return Response.json({ params: PASSWORD_PARAMS, simd, wasmMemoryBytes: memory?.buffer.byteLength ?? null });
    return new Response('ok');
  },
};`;

const wasmPlugin = {
  name: 'wasm-as-module',
  setup(b) {
    // Keep each .wasm import as a separate CompiledWasm module next to the bundle (wrangler's rule).
    b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${path.basename(args.path)}`, external: true }));
  },
};

function workerdPid() {
  try {
    const out = execFileSync('ps', ['-eo', 'pid,ppid,comm'], { encoding: 'utf8' });
    const rows = out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    const mine = new Set([String(process.pid)]);
    // Walk down from this process: workerd is a child (or grandchild) of Miniflare's spawn.
    for (let changed = true; changed; ) {
      changed = false;
      for (const [pid, ppid] of rows) {
        if (mine.has(ppid) && !mine.has(pid)) {
          mine.add(pid);
          changed = true;
        }
      }
    }
    return rows.find(([pid, , comm]) => mine.has(pid) && comm.startsWith('workerd'))?.[0] ?? null;
  } catch {
    return null;
  }
}

function rssMiB(pid) {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { median: q(0.5), p90: q(0.9), min: s[0], max: s[s.length - 1] };
};
const fmt = (n) => (n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(1));

async function timeRequests(mf, url, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

const outdir = mkdtempSync(path.join(tmpdir(), 'measure-hash-'));
let mf;
try {
  await build({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'measure-entry.mjs', loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    outfile: path.join(outdir, 'worker.mjs'),
    plugins: [wasmPlugin],
    logLevel: 'warning',
  });
  for (const f of ['simd.wasm', 'no-simd.wasm']) copyFileSync(path.join(root, 'node_modules/argon2id/dist', f), path.join(outdir, f));

  // Miniflare 5 takes its new option shape; the v4 shape (what wrangler 4 uses) is converted.
  mf = new Miniflare(
    convertV4MiniflareOptions({
      name: 'measure-hash',
      modulesRoot: outdir,
      modules: [
        { type: 'ESModule', path: path.join(outdir, 'worker.mjs') },
        { type: 'CompiledWasm', path: path.join(outdir, 'simd.wasm') },
        { type: 'CompiledWasm', path: path.join(outdir, 'no-simd.wasm') },
      ],
      compatibilityDate,
    }),
  );
  const base = 'http://measure.local';
  await timeRequests(mf, `${base}/noop`, 20); // start-up and JIT warm-up of the dispatch path
  const pid = workerdPid();
  const before = rssMiB(pid);
  const noop = await timeRequests(mf, `${base}/noop`, iterations);
  await timeRequests(mf, `${base}/hash`, 3); // wasm instantiation + first-run warm-up, not counted
  const hash = await timeRequests(mf, `${base}/hash`, iterations);
  const verify = await timeRequests(mf, `${base}/verify`, Math.min(iterations, 20));
  const after = rssMiB(pid);
  const info = await (await mf.dispatchFetch(`${base}/info`)).json();

  const base0 = stats(noop).median;
  const h = stats(hash.map((t) => t - base0));
  const v = stats(verify.map((t) => t - base0));
  const p = info.params;
  console.log(`argon2id m=${p.memorySize} KiB, t=${p.passes}, p=${p.parallelism}, tag=${p.tagLength} B, ${info.simd ? 'SIMD' : 'non-SIMD'} wasm — inside workerd (Miniflare), compatibility_date ${compatibilityDate}`);
  console.log(`node ${process.version}, ${iterations} sequential hashes at concurrency 1, no-op round trip median ${fmt(base0)} ms subtracted`);
  // Timings on a shared machine are only as good as its idleness: the load is printed with them.
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`hash   ms: median ${fmt(h.median)}  p90 ${fmt(h.p90)}  min ${fmt(h.min)}  max ${fmt(h.max)}`);
  console.log(`verify ms: median ${fmt(v.median)}  p90 ${fmt(v.p90)}  (n=${verify.length})`);
  console.log(`memory: argon2id WebAssembly.Memory ${fmt(info.wasmMemoryBytes / 2 ** 20)} MiB (of which the m=${p.memorySize} KiB work area ${fmt(p.memorySize / 1024)} MiB)`);
  if (before && after) {
    console.log(`workerd process RSS: ${fmt(before.rss)} MiB before hashing → ${fmt(after.rss)} MiB after (+${fmt(after.rss - before.rss)} MiB), peak ${fmt(after.hwm)} MiB`);
  } else {
    console.log('workerd process RSS: not available on this platform');
  }
} finally {
  await mf?.dispose();
  rmSync(outdir, { recursive: true, force: true });
}
