// Fails when [env.staging] or [env.production] lacks a binding the top level has: wrangler does not
// inherit bindings into environments, and a missing one is a production 500 (tempo-apps PR #289).
// Also checks that every environment has crons and observability set explicitly.
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
  if (cfg.name === top.name) {
    console.error(`[env.${env}] must set its own name`);
    failures += 1;
  }
}
if (failures > 0) {
  console.error(`check-config: ${failures} problem(s)`);
  process.exit(1);
}
console.log('check-config: every environment declares every binding');
