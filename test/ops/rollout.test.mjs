// scripts/rollout.mjs with a stand-in `wrangler` on PATH (records argv, keeps the deployment) and a
// local smoke target that routes each request to a version like Cloudflare does and can be made to
// fail. Run: npm run test:ops
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEW, OLD, SMOKE_PASSWORD, world } from './helpers/rollout-world.mjs';

const FAST = ['--settle', '0', '--attempts', '2', '--interval', '0'];
const deploys = (w) => w.argv().filter((a) => a[0] === 'versions' && a[1] === 'deploy').map((a) => a.filter((x) => x.includes('@')).join(' '));

async function rollout(w, args, env) {
  const url = await w.listen();
  try {
    // --worker-name spares each run wrangler's config reader (seconds on a busy machine); the first test reads wrangler.toml.
    const name = args.includes('--from-config') ? [] : ['--worker-name', 'app-ubr-production'];
    return await w.run('scripts/rollout.mjs', ['--env', 'production', '--smoke-url', url, ...FAST, ...name, ...args.filter((a) => a !== '--from-config')], env);
  } finally {
    await w.close();
  }
}

describe('rollout: 10 → 50 → 100 % with a smoke test at each step', () => {
  it('promotes a healthy version step by step, smoke-testing the new version itself each time', async () => {
    const w = world();
    const r = await rollout(w, ['--from-config', '--version-id', NEW, '--expect-version', '0.2.0+new']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rollout: app-ubr-production: /, 'the Worker name comes from [env.production] of wrangler.toml');
    assert.deepEqual(deploys(w), [`${NEW}@10 ${OLD}@90`, `${NEW}@50 ${OLD}@50`, `${NEW}@100`]);
    assert.deepEqual(w.state().deployment, [{ version_id: NEW, percentage: 100 }]);
    assert.ok(!w.argv().some((a) => a[1] === 'upload'), 'a given --version-id is not uploaded again');
    assert.ok(w.argv().every((a) => a.includes('--env') && a[a.indexOf('--env') + 1] === 'production'));
    // 3 steps × health, login, me, logout, all pinned to the new version (even at 10 %).
    assert.equal(w.requests.length, 12);
    assert.ok(w.requests.every((q) => q.override === NEW && q.version === NEW));
    assert.equal(w.requests[0].headers['cloudflare-workers-version-overrides'], `app-ubr-production="${NEW}"`);
    const summary = w.read('summary');
    assert.match(summary, /Rollout of `2222.*: 100 %/);
    assert.match(summary, /\| 10 % \|.*\| pass \|/);
    assert.match(w.read('output'), new RegExp(`version_id=${NEW}\\nprevious_version_id=${OLD}\\nrolled_back=false`));
    for (const text of [r.stdout, r.stderr, summary]) assert.ok(!text.includes(SMOKE_PASSWORD) && !text.includes('at-2222'), 'no password or token printed');
  });

  it('uploads the version itself when none is given, with APP_VERSION and the tag', async () => {
    const w = world();
    const r = await rollout(w, ['--tag', 'abc1234', '--expect-version', '9.9.9+abc1234']);
    assert.equal(r.code, 0, r.stderr);
    const upload = w.argv().find((a) => a[1] === 'upload');
    assert.deepEqual(upload.slice(0, 6), ['versions', 'upload', '--env', 'production', '--var', 'APP_VERSION:9.9.9+abc1234']);
    assert.ok(upload.includes('--tag') && upload.includes('abc1234'));
    assert.deepEqual(w.state().deployment, [{ version_id: NEW, percentage: 100 }]);
  });

  it('takes the version id from the wrangler-action upload output (UPLOAD_OUTPUT) and uploads nothing', async () => {
    const w = world();
    const r = await rollout(w, ['--steps', '100', '--no-version-check'], { UPLOAD_OUTPUT: `Uploaded app-ubr-production (2.1 sec)\nWorker Version ID: ${NEW}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!w.argv().some((a) => a[1] === 'upload'));
    assert.deepEqual(deploys(w), [`${NEW}@100`]);
  });

  it('rolls back to the previous version when the new one fails the smoke test at 10 %', async () => {
    const w = world();
    w.broken.set(NEW, { check: 'me' });
    const r = await rollout(w, ['--version-id', NEW, '--no-version-check']);
    assert.equal(r.code, 1);
    assert.deepEqual(deploys(w), [`${NEW}@10 ${OLD}@90`, `${OLD}@100`]);
    assert.deepEqual(w.state().deployment, [{ version_id: OLD, percentage: 100 }]);
    assert.equal(w.requests.filter((q) => q.url.endsWith('/users/me') && q.version === NEW).length, 2, 'retried before giving up');
    assert.ok(w.requests.slice(-4).every((q) => q.version === OLD), 'the previous version is smoke-tested after the rollback');
    const summary = w.read('summary');
    assert.match(summary, /rolled back/);
    assert.match(summary, /smoke test failed at 10 %/);
    assert.match(summary, /previous version healthy/);
    assert.match(w.read('output'), /rolled_back=true/);
  });

  it('rolls back when the failure only shows at 50 %', async () => {
    const w = world();
    w.broken.set(NEW, { check: 'health', fromPercent: 50 });
    const r = await rollout(w, ['--version-id', NEW, '--no-version-check']);
    assert.equal(r.code, 1);
    assert.deepEqual(deploys(w), [`${NEW}@10 ${OLD}@90`, `${NEW}@50 ${OLD}@50`, `${OLD}@100`]);
    assert.deepEqual(w.state().deployment, [{ version_id: OLD, percentage: 100 }]);
  });

  it('fails the step when /health answers from another version than the one deployed', async () => {
    const w = world();
    const r = await rollout(w, ['--version-id', NEW, '--expect-version', '0.3.0+elsewhere']);
    assert.equal(r.code, 1);
    assert.match(w.read('summary'), /version 0\.2\.0\+new, expected 0\.3\.0\+elsewhere/);
    assert.deepEqual(w.state().deployment, [{ version_id: OLD, percentage: 100 }]);
  });

  it('rolls back when wrangler versions deploy itself fails mid-rollout', async () => {
    const w = world({ fail: [`${NEW}@50`] });
    const r = await rollout(w, ['--version-id', NEW, '--no-version-check']);
    assert.equal(r.code, 1);
    assert.deepEqual(deploys(w).at(-1), `${OLD}@100`);
    assert.deepEqual(w.state().deployment, [{ version_id: OLD, percentage: 100 }]);
    assert.match(w.read('summary'), /deploy failed/);
  });

  it('exits 3 with the manual command when the rollback itself fails', async () => {
    const w = world({ fail: [`${OLD}@100`] });
    w.broken.set(NEW, { check: 'login' });
    const r = await rollout(w, ['--version-id', NEW, '--no-version-check']);
    assert.equal(r.code, 3);
    assert.match(w.read('summary'), new RegExp(`Automatic rollback failed.*versions deploy ${OLD}@100`, 's'));
  });

  it('refuses to start while another rollout is half done, touching nothing', async () => {
    const w = world({ deployment: [{ version_id: OLD, percentage: 90 }, { version_id: '33333333-3333-4333-8333-333333333333', percentage: 10 }] });
    const r = await rollout(w, ['--version-id', NEW]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /split/);
    assert.deepEqual(deploys(w), []);
    assert.equal(w.requests.length, 0);
  });

  it('rejects bad steps, a bad version id and missing smoke credentials before calling wrangler', async () => {
    for (const [args, env, message] of [
      [['--steps', '50,10,100'], {}, /--steps must rise to 100/],
      [['--steps', '10,50'], {}, /--steps must rise to 100/],
      [['--version-id', 'not-a-uuid;rm -rf /'], {}, /not a version id/],
      [['--version-id', NEW], { SMOKE_PASSWORD: '' }, /SMOKE_EMAIL and SMOKE_PASSWORD/],
    ]) {
      const w = world();
      const r = await rollout(w, args, env);
      assert.equal(r.code, 2, `${args} ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.deepEqual(deploys(w), []);
    }
  });
});
