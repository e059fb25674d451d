// Builds what the bench runs: the app exactly as it deploys (`wrangler deploy --dry-run`, whose
// report gives the upload and gzip sizes), and the baseline Workers, bundled by the same esbuild
// that wrangler uses with wrangler's conditions so no bundler difference leaks into the figures.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { onCleanup, trackPid, untrackPid } from './proc.mjs';

const require = createRequire(import.meta.url);
const WRANGLER_BIN = path.join(path.dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');

function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

function runNode(args, { cwd, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackPid(child.pid);
    const kill = () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    };
    onCleanup(kill);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      untrackPid(child.pid);
      if (code === 0) resolve(stripAnsi(out));
      else reject(new Error(`${path.basename(args[0])} exited ${code}:\n${stripAnsi(out)}`));
    });
  });
}

function kib(value, unit) {
  const n = Number(value);
  return unit === 'MiB' ? n * 1024 : unit === 'B' ? n / 1024 : n;
}

/**
 * `wrangler deploy --dry-run --outdir`: the deployable bundle and wrangler's own size report.
 * The top-level environment is targeted explicitly (`--env=""`), as in local dev.
 */
export async function buildApp({ root, configPath, outdir }) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const started = performance.now();
  const out = await runNode([WRANGLER_BIN, 'deploy', '--dry-run', '--outdir', outdir, '--env=', '--config', configPath], {
    cwd: root,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' },
  });
  const buildMs = performance.now() - started;
  const files = readdirSync(outdir).filter((f) => f.endsWith('.js') || f.endsWith('.wasm'));
  const main = files.includes('index.js') ? 'index.js' : files.find((f) => f.endsWith('.js'));
  if (!main) throw new Error(`wrangler produced no JavaScript in ${outdir}:\n${out}`);
  const m = /Total Upload:\s*([\d.]+)\s*(KiB|MiB|B)\s*\/\s*gzip:\s*([\d.]+)\s*(KiB|MiB|B)/.exec(out);
  // Fallback when wrangler's wording changes: gzip each module the way the upload is counted.
  const ownGzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(outdir, f))).byteLength, 0) / 1024;
  const ownRaw = files.reduce((sum, f) => sum + statSync(path.join(outdir, f)).size, 0) / 1024;
  return {
    dir: outdir,
    main,
    modules: files,
    buildMs,
    uploadKiB: m ? kib(m[1], m[2]) : ownRaw,
    gzipKiB: m ? kib(m[3], m[4]) : ownGzip,
    sizeSource: m ? 'wrangler deploy --dry-run' : 'zlib over the dry-run output (wrangler report not found)',
  };
}

function loadEsbuild() {
  // wrangler's own esbuild (same version and defaults as the app bundle).
  const fromWrangler = createRequire(require.resolve('wrangler/package.json'));
  return fromWrangler('esbuild');
}

/** Copies imported `.wasm` files next to the bundle and keeps them as module imports. */
function wasmModulesPlugin(outdir) {
  return {
    name: 'wasm-modules',
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, (args) => {
        const source = require.resolve(args.path, { paths: [args.resolveDir] });
        const name = `${path.basename(path.dirname(path.dirname(source)))}-${path.basename(source)}`;
        copyFileSync(source, path.join(outdir, name));
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/** Bundles one baseline Worker (ES module) into `outdir/<name>.js`. */
export async function buildWorker({ entry, outdir, name }) {
  mkdirSync(outdir, { recursive: true });
  const esbuild = loadEsbuild();
  const outfile = path.join(outdir, `${name}.js`);
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    plugins: [wasmModulesPlugin(outdir)],
    logLevel: 'silent',
  });
  return outfile;
}
