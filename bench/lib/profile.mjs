// `--profile ROW`: a V8 CPU profile of one Worker's isolate while a row runs, through workerd's
// inspector, folded by function and by source package (through the bundle's source map). It
// names where the Worker's own CPU goes; time inside the D1/KV/DO simulators is not in it (they
// are other isolates), which the row's workerd CPU µs/req includes.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const B64 = Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

/** Decodes a source map's mappings into, per generated line, sorted [column, sourceIndex] pairs. */
export function decodeMappings(mappings) {
  const lines = [];
  let source = 0;
  for (const line of mappings.split(';')) {
    const segs = [];
    let col = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const values = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = B64[ch];
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += values[0];
      if (values.length > 1) {
        source += values[1];
        segs.push([col, source]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

function sourceLookup(mapFile) {
  try {
    const map = JSON.parse(readFileSync(mapFile, 'utf8'));
    const lines = decodeMappings(map.mappings);
    return (line, col) => {
      const segs = lines[line];
      if (!segs || segs.length === 0) return null;
      let best = segs[0];
      for (const s of segs) {
        if (s[0] > col) break;
        best = s;
      }
      return map.sources[best[1]] ?? null;
    };
  } catch {
    return () => null;
  }
}

/** `node_modules/hono/dist/x.js` → `hono`; `src/middleware/auth.ts` stays a file. */
export function packageOf(source) {
  if (!source) return '(unmapped)';
  const norm = source.replace(/\\/g, '/');
  const nm = norm.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = norm.slice(nm + 'node_modules/'.length).split('/');
    // drizzle-orm ships source maps whose paths are relative to its own root, so esbuild
    // resolves them to node_modules/src/…: no other package lays its files out that way.
    if (rest[0] === 'src') return 'drizzle-orm';
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = norm.indexOf('src/');
  return src >= 0 ? norm.slice(src) : norm;
}

function connect(wsUrl) {
  const ws = new globalThis.WebSocket(wsUrl);
  let id = 0;
  const pending = new Map();
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data));
    const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const opened = new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`inspector connection to ${wsUrl} failed`)), { once: true });
  });
  return {
    opened,
    send(method, params = {}) {
      const msgId = ++id;
      ws.send(JSON.stringify({ id: msgId, method, params }));
      return new Promise((resolve, reject) => pending.set(msgId, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/** Starts sampling the isolate of `workerName`; `stopAndReport` folds and prints the profile. */
export async function attachProfiler(mf, workerName) {
  const base = await mf.getInspectorURL();
  const targets = await (await fetch(`http://${base.host}/json/list`)).json();
  const target = targets.find((t) => t.title === workerName || t.title?.endsWith(`:${workerName}`) || t.id === workerName);
  if (!target) throw new Error(`no inspector target for ${workerName}; targets: ${targets.map((t) => t.title ?? t.id).join(', ')}`);
  const session = connect(target.webSocketDebuggerUrl ?? `ws://${base.host}/${target.id}`);
  await session.opened;
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 200 });
  await session.send('Profiler.start');
  return {
    async stopAndReport({ app, out, requests, log }) {
      const { profile } = await session.send('Profiler.stop');
      session.close();
      writeFileSync(out, JSON.stringify(profile));
      const lookup = sourceLookup(path.join(app.dir, `${app.main}.map`));
      const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
      const selfUs = new Map();
      profile.samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)));
      const parent = new Map();
      for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
      const where = (callFrame) => {
        const fn = callFrame.functionName || '(anonymous)';
        if (fn.startsWith('(') && !callFrame.url) return { fn, pkg: fn };
        const source = callFrame.url?.endsWith(app.main) ? lookup(callFrame.lineNumber, callFrame.columnNumber) : callFrame.url;
        return { fn, pkg: packageOf(source) };
      };
      // Attributes a sample to the innermost frame in our own code (src/…) on its stack, so
      // native and library time (D1 calls, crypto, RPC) lands on the line of ours that caused it.
      const callerOf = (nodeId) => {
        for (let id = nodeId; id !== undefined; id = parent.get(id)) {
          const w = where(nodes.get(id).callFrame);
          if (w.pkg.startsWith('src/')) return `${w.fn} [${w.pkg}]`;
        }
        return '(no frame of ours on the stack)';
      };
      const byFn = new Map();
      const byPkg = new Map();
      const byCaller = new Map();
      let busy = 0;
      for (const [nodeId, us] of selfUs) {
        const { fn, pkg } = where(nodes.get(nodeId).callFrame);
        if (fn === '(idle)' || fn === '(root)') continue;
        busy += us;
        const key = `${fn} [${pkg}]`;
        byFn.set(key, (byFn.get(key) ?? 0) + us);
        byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
        const caller = callerOf(nodeId);
        byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
      }
      const top = (m, n) =>
        [...m.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, n)
          .map(([k, us]) => ({ name: k, pct: Math.round((1000 * us) / busy) / 10, usPerReq: Math.round((10 * us) / Math.max(1, requests)) / 10 }));
      const report = {
        worker: workerName,
        requests,
        busyUsPerReq: Math.round((10 * busy) / Math.max(1, requests)) / 10,
        byPackage: top(byPkg, 15),
        byFunction: top(byFn, 25),
        byCallerInSrc: top(byCaller, 20),
      };
      writeFileSync(out.replace(/\.cpuprofile$/, '.json'), JSON.stringify(report, null, 2));
      log(`profile of ${workerName}: ${report.busyUsPerReq} µs of isolate CPU per request (sampled); ${out}`);
      for (const p of report.byPackage) log(`  ${String(p.pct).padStart(5)} %  ${String(p.usPerReq).padStart(7)} µs/req  ${p.name}`);
      log('  by innermost frame of ours (inclusive of what it called):');
      for (const f of report.byCallerInSrc.slice(0, 15)) log(`  ${String(f.pct).padStart(5)} %  ${String(f.usPerReq).padStart(7)} µs/req  ${f.name}`);
      log('  top functions (self time):');
      for (const f of report.byFunction.slice(0, 15)) log(`  ${String(f.pct).padStart(5)} %  ${String(f.usPerReq).padStart(7)} µs/req  ${f.name}`);
      return report;
    },
  };
}
