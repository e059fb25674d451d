// Fails when [env.staging] or [env.production] lacks a binding the top level has: wrangler does not
// inherit bindings into environments, and a missing one is a production 500 (tempo-apps PR #289).
// Also checks that every environment has crons and observability set explicitly.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { unstable_readConfig } from 'wrangler';

const KINDS = {
  d1_databases: (b) => b.binding,
  kv_namespaces: (b) => b.binding,
  r2_buckets: (b) => b.binding,
  'durable_objects.bindings': (b) => b.name,
  'queues.producers': (b) => b.binding,
  'queues.consumers': (b) => b.queue.replace(/-(staging|production)$/, ''),
  analytics_engine_datasets: (b) => b.binding,
  services: (b) => b.binding,
  ratelimits: (b) => b.name,
  vars: null,
};

function list(config, kind) {
  if (kind === 'vars') return Object.keys(config.vars ?? {});
  const value = kind.split('.').reduce((o, k) => o?.[k], config) ?? [];
  return value.map(KINDS[kind]);
}

const file = process.argv[2] ?? 'wrangler.toml';
const top = unstable_readConfig({ config: file }, { hideWarnings: true });
let failures = 0;
for (const env of ['staging', 'production']) {
  const cfg = unstable_readConfig({ config: file, env }, { hideWarnings: true });
  for (const kind of Object.keys(KINDS)) {
    const have = new Set(list(cfg, kind));
    for (const name of list(top, kind)) {
      if (!have.has(name)) {
        console.error(`[env.${env}] lacks ${kind} "${name}" that the top level has`);
        failures += 1;
      }
    }
  }
  // A single table, not a list: the Worker reads its release and version id through it (src/lib/release.ts).
  if (top.version_metadata && cfg.version_metadata?.binding !== top.version_metadata.binding) {
    console.error(`[env.${env}] lacks version_metadata binding "${top.version_metadata.binding}" that the top level has`);
    failures += 1;
  }
  if (cfg.name === top.name) {
    console.error(`[env.${env}] must set its own name`);
    failures += 1;
  }
}
// /docs loads its UI from static assets (works offline, nothing from a CDN): every environment
// serves public/ with the API in front, and the file is the pinned build public/README.md names.
for (const env of [undefined, 'staging', 'production']) {
  const assets = unstable_readConfig({ config: file, env }, { hideWarnings: true }).assets;
  if (assets?.directory !== './public' || !assets.run_worker_first?.includes?.('/api/*')) {
    console.error(`[${env ? `env.${env}` : 'top level'}] must serve ./public as assets, with run_worker_first covering /api/*`);
    failures += 1;
  }
  // public/internal/ holds data only the Worker reads (ASSETS binding): never served to the public.
  if (!assets?.run_worker_first?.includes?.('/internal/*')) {
    console.error(`[${env ? `env.${env}` : 'top level'}] run_worker_first must cover /internal/* (public/internal/ is the Worker's data)`);
    failures += 1;
  }
}
const DOCS_UI = 'public/docs/scalar.standalone.js';
const pin = /`@scalar\/api-reference` \*\*(\d+\.\d+\.\d+)\*\*.*sha256 `([0-9a-f]{64})`/.exec(existsSync('public/README.md') ? readFileSync('public/README.md', 'utf8') : '');
if (!pin || !existsSync(DOCS_UI)) {
  console.error(`${DOCS_UI} or its pin (version and sha256 in public/README.md) is missing`);
  failures += 1;
} else {
  const ui = readFileSync(DOCS_UI);
  if (createHash('sha256').update(ui).digest('hex') !== pin[2] || !ui.includes(`@scalar/api-reference ${pin[1]}`)) {
    console.error(`${DOCS_UI} is not @scalar/api-reference ${pin[1]} as pinned in public/README.md`);
    failures += 1;
  }
}
// One version source: package.json `version`. No environment may hard-code another APP_VERSION
// (deploys override it with <version>+<git sha>), and CHANGELOG.md has an entry for it.
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
for (const env of [undefined, 'staging', 'production']) {
  const declared = unstable_readConfig({ config: file, env }, { hideWarnings: true }).vars?.APP_VERSION;
  if (declared !== version) {
    console.error(`[${env ? `env.${env}` : 'top level'}] APP_VERSION is ${JSON.stringify(declared)}; it must be package.json's version "${version}"`);
    failures += 1;
  }
}
const changelog = existsSync('CHANGELOG.md') ? readFileSync('CHANGELOG.md', 'utf8') : '';
if (!changelog.split('\n').some((l) => l.startsWith(`## [${version}] - `))) {
  console.error(`CHANGELOG.md has no "## [${version}] - <date>" entry for package.json's version`);
  failures += 1;
}
if (failures > 0) {
  console.error(`check-config: ${failures} problem(s)`);
  process.exit(1);
}
console.log(`check-config: every environment declares every binding, serves the pinned docs UI and runs APP_VERSION ${version}`);
