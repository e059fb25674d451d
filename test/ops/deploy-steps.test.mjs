// The other deploy-pipeline scripts with the stand-in `wrangler` on PATH: Time Travel bookmarks
// before remote migrations (scripts/migrate-remote.mjs) and the PR preview comment
// (scripts/preview-comment.mjs) against a local stand-in for the GitHub REST API. Run: npm run test:ops
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { NEW, world } from './helpers/rollout-world.mjs';

describe('migrate-remote: a Time Travel bookmark of every database before any migration', () => {
  it('bookmarks all four databases first, prints them to the job summary, then migrates', async () => {
    const w = world();
    const r = await w.run('scripts/migrate-remote.mjs', ['--env', 'staging']);
    assert.equal(r.code, 0, r.stderr);
    const calls = w.argv().map((a) => a.slice(0, 4).join(' '));
    assert.deepEqual(calls, [
      'd1 time-travel info AUTH_DB', 'd1 time-travel info APP_DB', 'd1 time-travel info LOGS_DB', 'd1 time-travel info SEARCH_DB',
      'd1 migrations apply AUTH_DB', 'd1 migrations apply APP_DB', 'd1 migrations apply LOGS_DB', 'd1 migrations apply SEARCH_DB',
    ]);
    assert.ok(w.argv().filter((a) => a[1] === 'migrations').every((a) => a.includes('--remote') && a.includes('staging')));
    const summary = w.read('summary');
    assert.match(summary, /Time Travel bookmarks before migrating \(staging/);
    assert.match(summary, /\| AUTH_DB \| app-ubr-auth-staging \| `0000001a-00000001-AUTH_DB` \| `npx wrangler d1 time-travel restore app-ubr-auth-staging --bookmark=0000001a-00000001-AUTH_DB --env staging` \|/);
    assert.match(r.stdout, /restore: npx wrangler d1 time-travel restore app-ubr-search-staging --bookmark=0000001a-00000004-SEARCH_DB --env staging/);
  });

  it('applies no migration at all when one bookmark cannot be taken', async () => {
    const w = world({ fail: ['time-travel info LOGS_DB'] });
    const r = await w.run('scripts/migrate-remote.mjs', ['--env', 'production']);
    assert.equal(r.code, 1);
    assert.ok(!w.argv().some((a) => a[1] === 'migrations'));
    assert.match(w.read('summary'), /No migration applied.*app-ubr-logs-production/);
  });

  it('stops at the first failed migration and points at the restore points', async () => {
    const w = world({ fail: ['migrations apply APP_DB'] });
    const r = await w.run('scripts/migrate-remote.mjs', ['--env', 'production']);
    assert.equal(r.code, 1);
    assert.deepEqual(w.argv().filter((a) => a[1] === 'migrations').map((a) => a[3]), ['AUTH_DB', 'APP_DB']);
    assert.match(w.read('summary'), /Migration of `app-ubr-app-production` failed/);
  });

  it('refuses an environment other than staging or production', async () => {
    const w = world();
    const r = await w.run('scripts/migrate-remote.mjs', ['--env', 'local']);
    assert.equal(r.code, 2);
    assert.deepEqual(w.argv(), []);
  });
});

/** The GitHub issue-comments API of one PR, recording requests. */
function githubStandIn(token) {
  const comments = [{ id: 1, body: 'LGTM' }];
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: body ? JSON.parse(body) : undefined });
      const send = (status, json) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: 'Bad credentials' });
      if (req.method === 'GET' && req.url.startsWith('/repos/acme/app-ubr/issues/12/comments')) return send(200, comments);
      if (req.method === 'POST' && req.url === '/repos/acme/app-ubr/issues/12/comments') {
        const c = { id: comments.length + 1, body: JSON.parse(body).body };
        comments.push(c);
        return send(201, c);
      }
      const edit = /^\/repos\/acme\/app-ubr\/issues\/comments\/(\d+)$/.exec(req.url);
      if (req.method === 'PATCH' && edit) {
        const c = comments.find((x) => x.id === Number(edit[1]));
        c.body = JSON.parse(body).body;
        return send(200, c);
      }
      send(404, { message: 'Not Found' });
    });
  });
  return { comments, requests, server };
}

describe('preview-comment: the preview URL on the PR', () => {
  const TOKEN = 'ghs_test_token_never_printed_81c2';
  const upload = (alias) => `Uploaded app-ubr-staging (3.10 sec)\nWorker Version ID: ${NEW}\nVersion Preview URL: https://22222222-app-ubr-staging.acme.workers.dev\n${alias ? `Version Preview Alias URL: https://${alias}-app-ubr-staging.acme.workers.dev\n` : ''}`;

  it('posts one comment with the alias URL, then edits the same comment on the next push', async () => {
    const gh = githubStandIn(TOKEN);
    await new Promise((r) => gh.server.listen(0, '127.0.0.1', r));
    const env = { GITHUB_API_URL: `http://127.0.0.1:${gh.server.address().port}`, GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: 'acme/app-ubr' };
    try {
      const w = world();
      const first = await w.run('scripts/preview-comment.mjs', ['--pr', '12', '--sha', 'abcdef0123'], { ...env, UPLOAD_OUTPUT: upload('pr-12') });
      assert.equal(first.code, 0, first.stderr);
      assert.equal(gh.comments.length, 2);
      assert.match(gh.comments[1].body, /^<!-- app-ubr-preview -->\n\*\*Preview\*\* of `abcdef0`: https:\/\/pr-12-app-ubr-staging\.acme\.workers\.dev/);
      assert.match(gh.comments[1].body, new RegExp(`Worker version \`${NEW}\``));
      assert.match(w.read('output'), /preview_url=https:\/\/pr-12-app-ubr-staging\.acme\.workers\.dev/);
      const second = await w.run('scripts/preview-comment.mjs', ['--pr', '12', '--sha', '9999999aaa'], { ...env, UPLOAD_OUTPUT: upload('pr-12') });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(gh.comments.length, 2, 'edited, not added');
      assert.match(gh.comments[1].body, /`9999999`/);
      assert.equal(gh.comments[0].body, 'LGTM', 'other comments untouched');
      assert.ok(gh.requests.every((q) => q.auth === `Bearer ${TOKEN}`));
      for (const text of [first.stdout, first.stderr, second.stdout, w.read('summary')]) assert.ok(!text.includes(TOKEN));
    } finally {
      gh.server.close();
    }
  });

  it('falls back to the version preview URL without an alias, and fails without any URL', async () => {
    const gh = githubStandIn(TOKEN);
    await new Promise((r) => gh.server.listen(0, '127.0.0.1', r));
    const env = { GITHUB_API_URL: `http://127.0.0.1:${gh.server.address().port}`, GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: 'acme/app-ubr' };
    try {
      const w = world();
      const ok = await w.run('scripts/preview-comment.mjs', ['--pr', '12'], { ...env, UPLOAD_OUTPUT: upload() });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(gh.comments[1].body, /https:\/\/22222222-app-ubr-staging\.acme\.workers\.dev/);
      const none = await w.run('scripts/preview-comment.mjs', ['--pr', '12'], { ...env, UPLOAD_OUTPUT: `Worker Version ID: ${NEW}\n` });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /preview URLs enabled/);
      const bad = await w.run('scripts/preview-comment.mjs', ['--pr', '12'], { ...env, GITHUB_TOKEN: 'wrong', UPLOAD_OUTPUT: upload('pr-12') });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /GitHub GET .*: 401/);
    } finally {
      gh.server.close();
    }
  });
});
