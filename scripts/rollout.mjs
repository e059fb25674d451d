// Gradual rollout with a smoke test at every step and automatic rollback.
//   node scripts/rollout.mjs --env production [--steps 10,50,100] [--version-id <id> | --tag <sha>]
// Reads the live deployment (`wrangler deployments status --json`): its version is the rollback
// target. Without --version-id it uploads one (`wrangler versions upload`, APP_VERSION=<version>+<sha>).
// Each step: `wrangler versions deploy <new>@P <old>@(100-P)`, wait --settle s, then the smoke test
// (scripts/lib/smoke.mjs) against SMOKE_URL pinned to the new version. A failed step (deploy or
// smoke) runs `wrangler versions deploy <old>@100` and exits 1. Results go to $GITHUB_STEP_SUMMARY.
// SMOKE_EMAIL / SMOKE_PASSWORD come from the environment only (never argv: argv shows in logs).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { output, summary, table } from './lib/github-summary.mjs';
import { describeChecks, smokeWithRetries } from './lib/smoke.mjs';
import { releaseVersion } from './lib/version.mjs';
import { parseJsonOutput, wrangler } from './lib/wrangler-cli.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(message, code = 1) {
  console.error(`rollout: ${message}`);
  summary(`**Rollout stopped:** ${message}`);
  process.exit(code);
}

export function parseSteps(text) {
  const steps = text.split(',').map((s) => Number(s.trim()));
  const valid = steps.every((p, i) => Number.isInteger(p) && p > 0 && p <= 100 && (i === 0 || p > steps[i - 1]));
  if (!valid || steps.at(-1) !== 100) throw new Error(`--steps must rise to 100 (e.g. 10,50,100), got "${text}"`);
  return steps;
}

async function workerName(env, config) {
  const { unstable_readConfig } = await import('wrangler');
  return unstable_readConfig({ config, env }, { hideWarnings: true }).name;
}

async function main() {
  const { values } = parseArgs({
    options: {
      env: { type: 'string' },
      steps: { type: 'string', default: '10,50,100' },
      'version-id': { type: 'string' },
      tag: { type: 'string' },
      message: { type: 'string' },
      'smoke-url': { type: 'string', default: process.env.SMOKE_URL },
      settle: { type: 'string', default: '10' },
      attempts: { type: 'string', default: '3' },
      interval: { type: 'string', default: '5' },
      'expect-version': { type: 'string' },
      'no-version-check': { type: 'boolean', default: false },
      config: { type: 'string', default: path.resolve(import.meta.dirname, '../wrangler.toml') },
      'worker-name': { type: 'string' },
    },
  });
  const env = values.env;
  if (env !== 'staging' && env !== 'production') fail('--env must be staging or production', 2);
  let steps;
  try {
    steps = parseSteps(values.steps);
  } catch (err) {
    fail(err.message, 2);
  }
  const baseUrl = values['smoke-url'];
  const { SMOKE_EMAIL: email, SMOKE_PASSWORD: password } = process.env;
  if (!baseUrl || !/^https?:\/\//.test(baseUrl)) fail('--smoke-url (or SMOKE_URL) must be an http(s) URL', 2);
  if (!email || !password) fail('SMOKE_EMAIL and SMOKE_PASSWORD must be set (the smoke account)', 2);
  if (values['version-id'] !== undefined && !UUID.test(values['version-id'])) fail(`not a version id: ${values['version-id']}`, 2);
  // The version-override header is keyed by the Worker's name (`name` of [env.<env>]).
  const name = values['worker-name'] ?? (await workerName(env, values.config));
  const appVersion = values['expect-version'] ?? releaseVersion();
  const expectVersion = values['no-version-check'] ? undefined : appVersion;
  const envArgs = ['--env', env];

  // 1. The live deployment: one version at 100 % is the rollback target; a split means another
  //    rollout is half done, and starting a second one would lose track of the good version.
  const status = await wrangler(['deployments', 'status', '--json', ...envArgs], { quiet: true });
  if (status.code !== 0) fail(`could not read the current deployment (first deploy? use npm run deploy:${env}): ${status.stderr.trim().slice(-300)}`);
  const live = parseJsonOutput(status.stdout).versions ?? [];
  if (live.length !== 1 || live[0].percentage !== 100) {
    fail(`the live deployment is split (${live.map((v) => `${v.version_id}@${v.percentage}%`).join(' ')}): finish it or roll it back first (docs/ops/runbook.md)`);
  }
  const previous = live[0].version_id;

  // 2. The new version: given (--version-id, or UPLOAD_OUTPUT: the output of the
  //    cloudflare/wrangler-action step that ran `versions upload`) or uploaded here.
  let next = values['version-id'] ?? (process.env.UPLOAD_OUTPUT ? (/Worker Version ID:\s*(\S+)/i.exec(process.env.UPLOAD_OUTPUT)?.[1] ?? '') : undefined);
  if (next === undefined) {
    const upload = await wrangler(['versions', 'upload', ...envArgs, '--var', `APP_VERSION:${appVersion}`, ...(values.tag ? ['--tag', values.tag] : []), '--message', values.message ?? `rollout ${values.tag ?? appVersion}`]);
    if (upload.code !== 0) fail('wrangler versions upload failed; nothing was deployed');
    next = upload.outputs.find((o) => o.type === 'version-upload')?.version_id ?? /Worker Version ID:\s*([0-9a-f-]{36})/i.exec(upload.stdout)?.[1];
  }
  if (!next || !UUID.test(next)) fail(`not a version id: ${next}`, 2);
  if (next === previous) fail(`version ${next} already serves 100 %`, 2);
  output('version_id', next);
  output('previous_version_id', previous);
  console.log(`rollout: ${name}: ${previous} → ${next} in steps ${steps.join(' → ')} %`);

  const rows = [];
  const smokeOptions = { baseUrl, email, password, workerName: name };
  const retry = { attempts: Number(values.attempts), intervalMs: Number(values.interval) * 1000 };
  let split = false;

  const rollback = async (reason) => {
    console.error(`rollout: ${reason}; rolling back to ${previous}`);
    const r = await wrangler(['versions', 'deploy', `${previous}@100`, '-y', '--message', `rollback: ${reason}`.slice(0, 100), ...envArgs]);
    if (r.code !== 0) {
      rows.push(['rollback', `${previous}@100`, 'not run', 'FAILED: run the runbook by hand']);
      summary(`### Rollout of \`${next}\` (${env})\n\n${table(['step', 'traffic', 'smoke', 'result'], rows)}\n\n**Automatic rollback failed.** Run: \`npx wrangler versions deploy ${previous}@100 -y --env ${env}\``);
      process.exit(3);
    }
    const after = await smokeWithRetries({ ...smokeOptions, versionId: previous }, retry);
    rows.push(['rollback', `${previous}@100`, describeChecks(after.checks), after.ok ? 'rolled back, previous version healthy' : 'rolled back, previous version ALSO FAILS the smoke test']);
    summary(`### Rollout of \`${next}\` (${env}): rolled back\n\n${reason}\n\n${table(['step', 'traffic', 'smoke', 'result'], rows)}`);
    output('rolled_back', 'true');
    process.exit(1);
  };
  // A cancelled job must not leave production split: put the previous version back first.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => (split ? rollback(`cancelled (${signal})`) : process.exit(130)));

  for (const percent of steps) {
    const specs = percent === 100 ? [`${next}@100`] : [`${next}@${percent}`, `${previous}@${100 - percent}`];
    const traffic = specs.join(' ');
    const deployed = await wrangler(['versions', 'deploy', ...specs, '-y', '--message', `rollout ${values.tag ?? appVersion} ${percent}%`, ...envArgs]);
    split = true;
    if (deployed.code !== 0) {
      rows.push([`${percent} %`, traffic, 'not run', 'deploy failed']);
      await rollback(`wrangler versions deploy at ${percent} % failed`);
    }
    await new Promise((r) => setTimeout(r, Number(values.settle) * 1000));
    const result = await smokeWithRetries({ ...smokeOptions, versionId: next, expectVersion }, retry);
    console.log(`rollout: ${percent} %: ${describeChecks(result.checks)}`);
    rows.push([`${percent} %`, traffic, describeChecks(result.checks), result.ok ? 'pass' : `FAIL after ${result.attempts} attempt(s)`]);
    if (!result.ok) await rollback(`smoke test failed at ${percent} %`);
  }
  split = false;
  summary(`### Rollout of \`${next}\` (${env}): 100 %\n\nPrevious version (rollback target): \`${previous}\`\n\n${table(['step', 'traffic', 'smoke', 'result'], rows)}`);
  output('rolled_back', 'false');
  console.log(`rollout: ${next} serves 100 % of ${name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
