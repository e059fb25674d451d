// Runs the wrangler CLI for the ops scripts. `wrangler` is looked up on PATH first, then in
// node_modules/.bin: the tests put a recording stand-in first on PATH; `npm run` and CI find the
// pinned one. Output is captured (and echoed unless quiet) so callers can parse it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * @param {string[]} args
 * @param {{ quiet?: boolean, cwd?: string }} [options]
 * @returns {Promise<{ code: number, stdout: string, stderr: string, outputs: Record<string, unknown>[] }>}
 */
export function wrangler(args, { quiet = false, cwd = ROOT } = {}) {
  // WRANGLER_OUTPUT_FILE_PATH: wrangler appends one JSON line per result (e.g. "version-upload"
  // with version_id and preview URLs), a steadier contract than its human-readable stdout.
  const dir = mkdtempSync(path.join(tmpdir(), 'wrangler-out-'));
  const outputFile = path.join(dir, 'out.ndjson');
  const env = {
    ...process.env,
    PATH: `${process.env.PATH ?? ''}${path.delimiter}${path.join(ROOT, 'node_modules/.bin')}`,
    WRANGLER_OUTPUT_FILE_PATH: outputFile,
    WRANGLER_SEND_METRICS: 'false',
  };
  return new Promise((resolve) => {
    const child = spawn('wrangler', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      if (!quiet) process.stdout.write(c);
    });
    child.stderr.on('data', (c) => {
      stderr += c;
      if (!quiet) process.stderr.write(c);
    });
    const done = (code) => {
      let outputs = [];
      try {
        outputs = readFileSync(outputFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        // no output file: an old wrangler or a failed command
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, outputs });
    };
    child.on('error', (err) => {
      stderr += String(err);
      done(127);
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

/** Like wrangler(), but throws (with the command, never its environment) when it exits non-zero. */
export async function wranglerOk(args, options) {
  const r = await wrangler(args, options);
  if (r.code !== 0) throw new Error(`wrangler ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-500)}`);
  return r;
}

/** The JSON a `--json` command printed (wrangler may print a banner line before it). */
export function parseJsonOutput(stdout) {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw new Error('wrangler printed no JSON');
  return JSON.parse(stdout.slice(start));
}
