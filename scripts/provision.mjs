// Provisioning as code: creates (or finds, by name) every D1 database, KV namespace, queue and
// dead-letter queue that wrangler.toml declares for an environment, through the Cloudflare REST API,
// and writes the D1 and KV ids into wrangler.toml in place (only the exact `database_id = "…"` /
// `id = "…"` lines change; comments and formatting stay). Idempotent: a second run creates nothing
// and writes nothing.
//
// Usage: npm run provision -- --env staging|production [--dry-run] [--config wrangler.toml]
// Needs CLOUDFLARE_API_TOKEN (D1 Edit, Workers KV Storage Edit, Queues Edit) and CLOUDFLARE_ACCOUNT_ID.
// CLOUDFLARE_API_BASE_URL overrides https://api.cloudflare.com/client/v4 (tests).
//
// Safety: every API call happens before the file is touched, and the file is written once (temp
// file + rename), so a failed run leaves wrangler.toml as it was. A real (non-placeholder) id in the
// file that differs from the account's id for that name is refused, never overwritten: pointing an
// environment at another database is a decision for a human. The token is sent only in the
// Authorization header and never printed.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { unstable_readConfig } from 'wrangler';

const ENVS = ['staging', 'production'];
const PLACEHOLDER = /^<[^>]*>$|^$/;

export class ProvisionError extends Error {}

/** Minimal Cloudflare v4 client: bearer token, JSON envelope, errors without the token. */
export function cloudflareClient({ token, accountId, baseUrl = 'https://api.cloudflare.com/client/v4', fetchImpl = fetch }) {
  const root = `${baseUrl.replace(/\/+$/, '')}/accounts/${encodeURIComponent(accountId)}`;
  async function call(method, path, body) {
    let res;
    try {
      res = await fetchImpl(`${root}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new ProvisionError(`Cloudflare API ${method} ${path.split('?')[0]}: ${err.cause?.code ?? err.message}`);
    }
    const json = await res.json().catch(() => null);
    if (!res.ok || !json?.success) {
      const detail = (json?.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || res.statusText;
      const hint = res.status === 401 || res.status === 403 ? ' (check that CLOUDFLARE_API_TOKEN has D1, Workers KV and Queues edit permissions on this account)' : '';
      throw new ProvisionError(`Cloudflare API ${method} ${path.split('?')[0]} failed: HTTP ${res.status} ${detail}${hint}`);
    }
    return json;
  }
  /** Every item of a paginated list (page/per_page; stops when result_info says so or a page is short). */
  async function listAll(path, perPage) {
    const items = [];
    const seen = new Set();
    for (let page = 1; page <= 1000; page += 1) {
      const json = await call('GET', `${path}?page=${page}&per_page=${perPage}`);
      const batch = (json.result ?? []).filter((item) => !seen.has(JSON.stringify(item)));
      // An endpoint that ignores `page` answers the same items again: stop instead of looping.
      if (page > 1 && batch.length === 0) break;
      for (const item of batch) seen.add(JSON.stringify(item));
      items.push(...batch);
      const info = json.result_info;
      const totalPages = info?.total_pages ?? (info?.total_count != null ? Math.ceil(info.total_count / (info.per_page || perPage)) : undefined);
      if (batch.length === 0 || (totalPages != null ? page >= totalPages : batch.length < perPage)) break;
    }
    return items;
  }
  return { call, listAll };
}

/** What wrangler.toml declares for the environment: D1 by name, KV by title, queues (and DLQs) by name. */
export function declaredResources(configPath, env) {
  const cfg = unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
  const d1 = (cfg.d1_databases ?? []).map((d) => ({ binding: d.binding, name: d.database_name, id: d.database_id ?? '' }));
  // `wrangler kv namespace create <BINDING> --env <env>` names a namespace "<worker name>-<BINDING>".
  const kv = (cfg.kv_namespaces ?? []).map((k) => ({ binding: k.binding, name: `${cfg.name}-${k.binding}`, id: k.id ?? '' }));
  const queues = new Set();
  for (const p of cfg.queues?.producers ?? []) queues.add(p.queue);
  for (const c of cfg.queues?.consumers ?? []) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
  return { d1, kv, queues: [...queues] };
}

/**
 * Rewrites the id line of `[[env.<env>.<table>]]` blocks in place. `ids` maps binding -> id.
 * Only the value between the quotes of `<key> = "…"` changes.
 */
export function rewriteIds(text, env, table, key, ids) {
  const lines = text.split('\n');
  const header = `[[env.${env}.${table}]]`;
  let inBlock = false;
  let binding;
  let idLine = -1;
  const flush = () => {
    if (inBlock && binding && idLine >= 0 && ids.has(binding)) {
      lines[idLine] = lines[idLine].replace(/=\s*"[^"]*"/, `= "${ids.get(binding)}"`);
    }
  };
  for (let i = 0; i < lines.length; i += 1) {
    const t = lines[i].trim();
    if (t.startsWith('[')) {
      flush();
      inBlock = t === header;
      binding = undefined;
      idLine = -1;
      continue;
    }
    if (!inBlock) continue;
    const m = /^([A-Za-z_]+)\s*=\s*"([^"]*)"/.exec(t);
    if (m?.[1] === 'binding') binding = m[2];
    if (m?.[1] === key) idLine = i;
  }
  flush();
  return lines.join('\n');
}

function decide(kind, want, found) {
  if (found) {
    if (!PLACEHOLDER.test(want.id) && want.id !== found) {
      throw new ProvisionError(`${kind} "${want.name}" (${want.binding}): wrangler.toml has id ${want.id} but the account's is ${found}; fix the file by hand, provision never overwrites a real id`);
    }
    return { action: want.id === found ? 'ok' : 'write', id: found };
  }
  if (!PLACEHOLDER.test(want.id)) {
    throw new ProvisionError(`${kind} "${want.name}" (${want.binding}): wrangler.toml has id ${want.id} but the account has no ${kind} of that name; fix the file by hand`);
  }
  return { action: 'create' };
}

/** Runs the provisioning; returns { plan, changed }. Logs through `log` (never the token). */
export async function provision({ env, configPath = 'wrangler.toml', dryRun = false, token, accountId, baseUrl, log = console.log, fetchImpl }) {
  if (!ENVS.includes(env)) throw new ProvisionError(`--env must be one of ${ENVS.join(', ')}`);
  if (!token) throw new ProvisionError('CLOUDFLARE_API_TOKEN is not set');
  if (!accountId) throw new ProvisionError('CLOUDFLARE_ACCOUNT_ID is not set');
  const original = readFileSync(configPath, 'utf8');
  const want = declaredResources(configPath, env);
  const cf = cloudflareClient({ token, accountId, baseUrl, fetchImpl });
  const plan = [];

  // Look everything up first: a dry run makes GET requests only.
  const [dbs, namespaces, queues] = await Promise.all([
    cf.listAll('/d1/database', 100),
    cf.listAll('/storage/kv/namespaces', 100),
    cf.listAll('/queues', 100),
  ]);
  const dbByName = new Map(dbs.map((d) => [d.name, d.uuid]));
  const kvByTitle = new Map(namespaces.map((n) => [n.title, n.id]));
  const queueByName = new Map(queues.map((q) => [q.queue_name, q.queue_id]));

  const d1Ids = new Map();
  for (const db of want.d1) {
    const d = decide('D1 database', db, dbByName.get(db.name));
    plan.push({ kind: 'd1', name: db.name, binding: db.binding, ...d });
  }
  const kvIds = new Map();
  for (const ns of want.kv) {
    const d = decide('KV namespace', ns, kvByTitle.get(ns.name));
    plan.push({ kind: 'kv', name: ns.name, binding: ns.binding, ...d });
  }
  for (const name of want.queues) {
    plan.push({ kind: 'queue', name, action: queueByName.has(name) ? 'ok' : 'create', id: queueByName.get(name) });
  }

  for (const step of plan) {
    log(`${dryRun && step.action !== 'ok' ? 'would ' : ''}${step.action.padEnd(6)} ${step.kind.padEnd(5)} ${step.name}${step.id ? ` (${step.id})` : ''}`);
  }
  if (dryRun) {
    log(`dry run: ${plan.filter((s) => s.action !== 'ok').length} change(s) planned for [env.${env}], nothing created, ${configPath} not written`);
    return { plan, changed: false };
  }

  for (const step of plan) {
    if (step.action !== 'create') continue;
    if (step.kind === 'd1') step.id = (await cf.call('POST', '/d1/database', { name: step.name })).result.uuid;
    if (step.kind === 'kv') step.id = (await cf.call('POST', '/storage/kv/namespaces', { title: step.name })).result.id;
    if (step.kind === 'queue') step.id = (await cf.call('POST', '/queues', { queue_name: step.name })).result.queue_id;
    log(`created ${step.kind.padEnd(5)} ${step.name} (${step.id})`);
  }
  for (const step of plan) {
    if (step.kind === 'd1') d1Ids.set(step.binding, step.id);
    if (step.kind === 'kv') kvIds.set(step.binding, step.id);
  }

  let text = rewriteIds(original, env, 'd1_databases', 'database_id', d1Ids);
  text = rewriteIds(text, env, 'kv_namespaces', 'id', kvIds);
  if (text === original) {
    log(`[env.${env}]: every resource exists and ${configPath} already holds its ids`);
    return { plan, changed: false };
  }
  const tmp = `${configPath}.provision-tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, configPath);
  log(`[env.${env}]: ids written to ${configPath} (review and commit it)`);
  return { plan, changed: true };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { env: { type: 'string' }, 'dry-run': { type: 'boolean' }, config: { type: 'string' } } });
  try {
    await provision({
      env: values.env,
      configPath: values.config ?? 'wrangler.toml',
      dryRun: values['dry-run'] ?? false,
      token: process.env.CLOUDFLARE_API_TOKEN,
      accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
      baseUrl: process.env.CLOUDFLARE_API_BASE_URL || undefined,
    });
  } catch (err) {
    if (!(err instanceof ProvisionError)) throw err;
    console.error(`provision: ${err.message}`);
    console.error('provision: wrangler.toml was not changed');
    process.exit(1);
  }
}
