// Node-side globalSetup: a Resend-like email provider that misbehaves on purpose (issue 20,
// queue chaos). Per tag it answers POST /emails/<tag> with 500 for `failRate` of the calls and
// hangs (longer than the Worker's deadline) for `timeoutRate`; half of the hung calls are
// accepted before hanging, like a provider whose answer is lost on the way back. Like Resend,
// it honours `Idempotency-Key`: a key it accepted before is answered with the first id and is
// not a new delivery. What it counts is what reached a mailbox, per idempotency key and per
// the notification's subject (one subject per notification in the tests), so a duplicate under
// a second key would show.
//
//   PUT  /config/<tag>   {"failRate": 0.5, "timeoutRate": 0.1, "hangMs": 1500, "seed": 1}
//   POST /<tag>/emails   the endpoint the Worker sends to (the sender's base URL is /<tag>)
//   GET  /stats/<tag>    {calls, failed, hung, acceptedHung, replays, deliveries: {subject: keys[]}}
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    chaosProvider: string;
  }
}

export interface ChaosStats {
  calls: number;
  failed: number;
  hung: number;
  acceptedHung: number;
  replays: number;
  /** Idempotency keys first accepted by a call whose answer never came back. */
  lostAnswers: string[];
  /** subject → the idempotency keys it was accepted under (more than one: delivered twice). */
  deliveries: Record<string, string[]>;
}

interface TagState {
  failRate: number;
  timeoutRate: number;
  hangMs: number;
  rand: () => number;
  accepted: Map<string, string>;
  stats: ChaosStats;
}

/** mulberry32: a seeded generator, so a run's fault pattern can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tags = new Map<string, TagState>();
  const fresh = (): TagState => ({ failRate: 0, timeoutRate: 0, hangMs: 1500, rand: seeded(1), accepted: new Map(), stats: { calls: 0, failed: 0, hung: 0, acceptedHung: 0, replays: 0, lostAnswers: [], deliveries: {} } });
  const state = (tag: string) => {
    let s = tags.get(tag);
    if (!s) tags.set(tag, (s = fresh()));
    return s;
  };
  const accept = (s: TagState, key: string, subject: string): string => {
    const prior = s.accepted.get(key);
    if (prior) {
      s.stats.replays += 1;
      return prior;
    }
    const id = `chaos-${s.accepted.size + 1}`;
    s.accepted.set(key, id);
    (s.stats.deliveries[subject] ??= []).push(key);
    return id;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /^\/(config|stats)\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '') ?? /^\/()([A-Za-z0-9_-]+)\/emails$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end();
      const [, kind = '', tag = ''] = m;
      if (kind === 'config' && req.method === 'PUT') {
        const cfg = JSON.parse(body) as { failRate?: number; timeoutRate?: number; hangMs?: number; seed?: number };
        const s = fresh();
        Object.assign(s, { failRate: cfg.failRate ?? 0, timeoutRate: cfg.timeoutRate ?? 0, hangMs: cfg.hangMs ?? 1500, rand: seeded(cfg.seed ?? 1) });
        tags.set(tag, s);
        return void res.writeHead(204).end();
      }
      const s = state(tag);
      if (kind === 'stats') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(s.stats));
      if (kind !== '' || req.method !== 'POST') return void res.writeHead(405).end();
      s.stats.calls += 1;
      const key = String(req.headers['idempotency-key'] ?? '');
      let subject: string;
      try {
        subject = String((JSON.parse(body) as { subject?: unknown }).subject ?? '');
      } catch {
        return void res.writeHead(400).end();
      }
      if (!key) return void res.writeHead(422, { 'Content-Type': 'application/json' }).end('{"name":"missing_idempotency_key"}');
      const r = s.rand();
      if (r < s.timeoutRate) {
        s.stats.hung += 1;
        // Half the hung calls were processed: the mail went out, only the answer is late.
        if (r < s.timeoutRate / 2) {
          s.stats.acceptedHung += 1;
          if (!s.accepted.has(key)) s.stats.lostAnswers.push(key);
          accept(s, key, subject);
        }
        const t = setTimeout(() => res.writeHead(504).end(), s.hangMs);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (r < s.timeoutRate + s.failRate) {
        s.stats.failed += 1;
        return void res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"name":"internal_server_error"}');
      }
      const id = accept(s, key, subject);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  project.provide('chaosProvider', `http://127.0.0.1:${port}`);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
