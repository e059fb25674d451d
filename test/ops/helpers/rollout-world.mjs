// test/ops world for the deploy scripts: the stand-in wrangler (bin/wrangler, first on PATH) and a
// local HTTP target that answers like app-ubr's /health, /auth/login, /users/me and /auth/logout
// for whichever version the stand-in's deployment routes a request to (the version-override
// header, else the majority version). Versions can be made to fail.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const SMOKE_EMAIL = 'smoke@example.com';
export const SMOKE_PASSWORD = 'smoke-password-never-printed-5b1e';
export const OLD = '11111111-1111-4111-8111-111111111111';
export const NEW = '22222222-2222-4222-8222-222222222222';

export function world({ deployment = [{ version_id: OLD, percentage: 100 }], fail = [] } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ops-world-'));
  const files = { state: path.join(dir, 'state.json'), log: path.join(dir, 'argv.ndjson'), summary: path.join(dir, 'summary.md'), output: path.join(dir, 'output.txt') };
  writeFileSync(files.state, JSON.stringify({ deployment, uploads: [NEW], versions: { [OLD]: { appVersion: '0.1.0+old' }, [NEW]: { appVersion: '0.2.0+new' } }, fail, bookmarks: 1 }));
  writeFileSync(files.log, '');
  /** version id → which check breaks ('health' | 'login' | 'me'), optionally only from a traffic share on. */
  const broken = new Map();
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const state = JSON.parse(readFileSync(files.state, 'utf8'));
      const live = state.deployment ?? [];
      const override = /="([^"]+)"/.exec(req.headers['cloudflare-workers-version-overrides'] ?? '')?.[1];
      const routed = live.find((v) => v.version_id === override) ?? [...live].sort((a, b) => b.percentage - a.percentage)[0];
      requests.push({ method: req.method, url: req.url, headers: req.headers, override, version: routed?.version_id, body });
      const fault = broken.get(routed?.version_id);
      const failsNow = fault && routed.percentage >= (fault.fromPercent ?? 0);
      const send = (status, json) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json === undefined ? '' : JSON.stringify(json));
      };
      const check = req.url.replace('/api/v1', '');
      if (failsNow && fault.check === { '/health': 'health', '/auth/login': 'login', '/users/me': 'me' }[check]) return send(500, { error: { code: 'INTERNAL', message: 'boom' } });
      if (check === '/health') return send(200, { status: 'ok', version: state.versions[routed.version_id]?.appVersion, environment: 'production', time: new Date().toISOString(), checks: {} });
      if (check === '/auth/login') {
        const creds = JSON.parse(body || '{}');
        if (creds.email !== SMOKE_EMAIL || creds.password !== SMOKE_PASSWORD) return send(401, { error: { code: 'INVALID_CREDENTIALS', message: 'no' } });
        return send(200, { accessToken: `at-${routed.version_id}`, refreshToken: 'rt', tokenType: 'Bearer', expiresIn: 900, user: { email: SMOKE_EMAIL } });
      }
      if (check === '/users/me') return req.headers.authorization?.startsWith('Bearer at-') ? send(200, { id: 'u1', email: SMOKE_EMAIL }) : send(401, { error: { code: 'UNAUTHORIZED', message: 'no' } });
      if (check === '/auth/logout') return send(204);
      send(404, { error: { code: 'NOT_FOUND', message: 'no' } });
    });
  });
  const listen = () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
  const close = () => new Promise((resolve) => server.close(resolve));
  const argv = () => readFileSync(files.log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const state = () => JSON.parse(readFileSync(files.state, 'utf8'));
  const read = (f) => {
    try {
      return readFileSync(files[f], 'utf8');
    } catch {
      return '';
    }
  };
  /** Runs a script with the stand-in first on PATH (then the pinned Node and wrangler, as under npm run). */
  const run = (script, args, extraEnv = {}) =>
    new Promise((resolve) => {
      execFile(process.execPath, [path.join(ROOT, script), ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${path.join(import.meta.dirname, 'bin')}${path.delimiter}${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`,
          FAKE_WRANGLER_STATE: files.state,
          FAKE_WRANGLER_LOG: files.log,
          GITHUB_STEP_SUMMARY: files.summary,
          GITHUB_OUTPUT: files.output,
          SMOKE_EMAIL,
          SMOKE_PASSWORD,
          ...extraEnv,
        },
        timeout: 60_000,
      }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
  return { files, broken, requests, listen, close, argv, state, read, run };
}
