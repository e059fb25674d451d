// scripts/provision.mjs against a recording stand-in for the Cloudflare API (a real HTTP server on
// 127.0.0.1 keeping state), on a temporary copy of wrangler.toml. Run: npm run test:ops
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'cf-test-token-do-not-print-7f3a9c';
const ACCOUNT = '0123456789abcdef0123456789abcdef';

/** The stand-in: D1, KV and queues of one account, paginated like the v4 API, every request recorded. */
function standIn() {
  const state = { d1: [], kv: [], queues: [], requests: [], failWith: null };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const rec = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), auth: req.headers.authorization, body: body ? JSON.parse(body) : undefined };
      state.requests.push(rec);
      const send = (status, json) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (rec.auth !== `Bearer ${TOKEN}`) return send(401, { success: false, errors: [{ code: 10000, message: 'Authentication error' }], messages: [], result: null });
      if (state.failWith && state.failWith.method === req.method && rec.path.endsWith(state.failWith.suffix)) {
        return send(state.failWith.status, { success: false, errors: [{ code: 10000, message: 'Authentication error' }], messages: [], result: null });
      }
      const base = `/client/v4/accounts/${ACCOUNT}`;
      const collections = { '/d1/database': 'd1', '/storage/kv/namespaces': 'kv', '/queues': 'queues' };
      const kind = collections[rec.path.slice(base.length)];
      if (!rec.path.startsWith(base) || !kind) return send(404, { success: false, errors: [{ code: 7003, message: 'No route' }], result: null });
      const items = state[kind];
      if (req.method === 'GET' && state.ignorePaging?.includes(kind)) {
        return send(200, { success: true, errors: [], messages: [], result: items });
      }
      if (req.method === 'GET') {
        const page = Number(rec.query.page ?? 1);
        const perPage = Number(rec.query.per_page ?? 20);
        const slice = items.slice((page - 1) * perPage, page * perPage);
        return send(200, { success: true, errors: [], messages: [], result: slice, result_info: { page, per_page: perPage, count: slice.length, total_count: items.length, total_pages: Math.max(1, Math.ceil(items.length / perPage)) } });
      }
      if (req.method === 'POST') {
        let item;
        if (kind === 'd1') item = { uuid: randomUUID(), name: rec.body.name, version: 'production' };
        if (kind === 'kv') item = { id: randomUUID().replaceAll('-', ''), title: rec.body.title };
        if (kind === 'queues') item = { queue_id: randomUUID().replaceAll('-', ''), queue_name: rec.body.queue_name };
        const key = { d1: 'name', kv: 'title', queues: 'queue_name' }[kind];
        if (items.some((i) => i[key] === item[key])) return send(409, { success: false, errors: [{ code: 7502, message: 'already exists' }], result: null });
        items.push(item);
        return send(200, { success: true, errors: [], messages: [], result: item });
      }
      send(405, { success: false, errors: [], result: null });
    });
  });
  return { state, server };
}

function run(args, { baseUrl, token = TOKEN } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'scripts/provision.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_API_TOKEN: token, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: baseUrl, WRANGLER_SEND_METRICS: 'false' },
    }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

describe('npm run provision', () => {
  const { state, server } = standIn();
  let baseUrl;
  const dirs = [];
  let config;
  const writes = () => state.requests.filter((r) => r.method !== 'GET');

  before(async () => {
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${server.address().port}/client/v4`;
  });
  after(() => server.close());
  beforeEach(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'provision-'));
    dirs.push(dir);
    config = path.join(dir, 'wrangler.toml');
    copyFileSync(path.join(ROOT, 'wrangler.toml'), config);
    Object.assign(state, { d1: [], kv: [], queues: [], requests: [], failWith: null, ignorePaging: null });
    // 150 unrelated databases: the staging ones are only found by reading past page 1.
    for (let i = 0; i < 150; i += 1) state.d1.push({ uuid: randomUUID(), name: `other-${i}` });
    // One staging database already exists: it is found, not created.
    state.d1.push({ uuid: '11111111-2222-4333-8444-555555555555', name: 'app-ubr-logs-staging' });
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates what is missing, finds what exists (paginated), writes the ids in place; a second run changes nothing', async () => {
    const before = readFileSync(config, 'utf8');
    const first = await run(['--env', 'staging', '--config', config], { baseUrl });
    assert.equal(first.code, 0, first.stderr);

    // Requests: lists paginated (D1 needed two pages of 100), then one POST per missing resource.
    const d1Pages = state.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/d1/database')).map((r) => r.query.page);
    assert.deepEqual(d1Pages, ['1', '2']);
    assert.ok(state.requests.every((r) => r.auth === `Bearer ${TOKEN}`));
    const posts = writes().map((r) => `${r.path.split(ACCOUNT)[1]} ${JSON.stringify(r.body)}`).sort();
    assert.deepEqual(posts, [
      '/d1/database {"name":"app-ubr-app-staging"}',
      '/d1/database {"name":"app-ubr-auth-staging"}',
      '/d1/database {"name":"app-ubr-search-staging"}',
      ...['app-ubr-audit-dlq-staging', 'app-ubr-audit-staging', 'app-ubr-notifications-dlq-staging', 'app-ubr-notifications-staging', 'app-ubr-webhooks-dlq-staging', 'app-ubr-webhooks-staging'].map((q) => `/queues {"queue_name":"${q}"}`),
      '/storage/kv/namespaces {"title":"app-ubr-staging-CACHE"}',
    ]);

    // Ids written: exactly the id lines of [env.staging] changed, everything else byte for byte.
    const after1 = readFileSync(config, 'utf8');
    const id = (name) => state.d1.find((d) => d.name === name).uuid;
    for (const db of ['auth', 'app', 'search']) assert.ok(after1.includes(`database_id = "${id(`app-ubr-${db}-staging`)}"`));
    assert.ok(after1.includes('database_id = "11111111-2222-4333-8444-555555555555"'));
    assert.ok(after1.includes(`id = "${state.kv[0].id}"`));
    const changed = before.split('\n').map((l, i) => [l, after1.split('\n')[i]]).filter(([a, b]) => a !== b);
    assert.equal(changed.length, 5);
    assert.ok(changed.every(([a]) => /^(database_)?id = "<STAGING_[A-Z]+_(DB|KV)_ID>"$/.test(a)));
    assert.ok(after1.includes('database_id = "<PRODUCTION_AUTH_DB_ID>"'), 'production untouched');
    assert.equal(after1.split('\n').length, before.split('\n').length);

    // Second run: lists only, no write request, file identical.
    state.requests.length = 0;
    const second = await run(['--env', 'staging', '--config', config], { baseUrl });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(writes(), []);
    assert.equal(readFileSync(config, 'utf8'), after1);
    assert.match(second.stdout, /already holds its ids/);

    for (const out of [first, second]) assert.ok(!`${out.stdout}${out.stderr}`.includes(TOKEN), 'token never printed');
  });

  it('--dry-run prints the plan, makes only GET requests and writes nothing', async () => {
    const before = readFileSync(config, 'utf8');
    const out = await run(['--env', 'production', '--dry-run', '--config', config], { baseUrl });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(writes(), []);
    assert.equal(readFileSync(config, 'utf8'), before);
    assert.match(out.stdout, /would create d1 +app-ubr-auth-production/);
    assert.match(out.stdout, /would create queue app-ubr-webhooks-dlq-production/);
    assert.match(out.stdout, /dry run: 11 change\(s\) planned/);
    assert.ok(!`${out.stdout}${out.stderr}`.includes(TOKEN));
  });

  it('an API error (403 on create) fails with a clear message, leaves the file untouched and never prints the token', async () => {
    const before = readFileSync(config, 'utf8');
    state.failWith = { method: 'POST', suffix: '/queues', status: 403 };
    const out = await run(['--env', 'staging', '--config', config], { baseUrl });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /Cloudflare API POST \/queues failed: HTTP 403 10000 Authentication error/);
    assert.match(out.stderr, /CLOUDFLARE_API_TOKEN has D1, Workers KV and Queues edit permissions/);
    assert.match(out.stderr, /wrangler.toml was not changed/);
    assert.equal(readFileSync(config, 'utf8'), before);
    assert.ok(!`${out.stdout}${out.stderr}`.includes(TOKEN));

    // The retry (permissions fixed) finds what the failed run created and completes.
    state.failWith = null;
    state.requests.length = 0;
    const retry = await run(['--env', 'staging', '--config', config], { baseUrl });
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(writes().filter((r) => r.path.endsWith('/d1/database')).length, 0, 'databases of the failed run are found, not created twice');
  });

  it('a list endpoint that ignores page/per_page (no result_info) is read once more, not looped', async () => {
    state.ignorePaging = ['queues'];
    for (let i = 0; i < 120; i += 1) state.queues.push({ queue_id: `q${i}`, queue_name: `other-${i}` });
    state.queues.push({ queue_id: 'q-audit', queue_name: 'app-ubr-audit-staging' });
    const out = await run(['--env', 'staging', '--dry-run', '--config', config], { baseUrl });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(state.requests.filter((r) => r.path.endsWith('/queues')).length, 2);
    assert.match(out.stdout, /ok {5}queue app-ubr-audit-staging \(q-audit\)/);
    assert.match(out.stdout, /dry run: 10 change\(s\) planned/);
  });

  it('a wrong token (401 on list) fails before anything is created', async () => {
    const before = readFileSync(config, 'utf8');
    const out = await run(['--env', 'staging', '--config', config], { baseUrl, token: 'wrong-token-value-123' });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /HTTP 401/);
    assert.deepEqual(writes(), []);
    assert.equal(readFileSync(config, 'utf8'), before);
    assert.ok(!`${out.stdout}${out.stderr}`.includes('wrong-token-value-123'));
  });

  it('refuses to overwrite a real id that differs from the account', async () => {
    await run(['--env', 'staging', '--config', config], { baseUrl });
    const written = readFileSync(config, 'utf8');
    state.d1.find((d) => d.name === 'app-ubr-logs-staging').uuid = '99999999-2222-4333-8444-555555555555';
    const out = await run(['--env', 'staging', '--config', config], { baseUrl });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /D1 database "app-ubr-logs-staging" \(LOGS_DB\): wrangler.toml has id 11111111-2222-4333-8444-555555555555 but the account's is 99999999/);
    assert.equal(readFileSync(config, 'utf8'), written);
  });
});
