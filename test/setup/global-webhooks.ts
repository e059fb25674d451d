// Node-side globalSetup: a real webhook receiver. It verifies every delivery with the
// `standardwebhooks` npm library (the reference implementation of the spec), once per secret it
// was told about, so a test sees exactly which secrets a signature verifies under. Each test
// uses its own tag, so tests never see each other's deliveries.
//
//   PUT  /config/<tag>    {"secrets": ["whsec_…"], "fail": N}: the next N deliveries get a 500
//                          with a 2 KiB body (the Worker must log only the first KiB)
//   POST /hook/<tag>      the endpoint the Worker delivers to
//   GET  /received/<tag>  JSON array of ReceivedWebhook
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { TestProject } from 'vitest/node';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Index in the configured secrets of each secret the delivery verified under. */
  verifiedWith: number[];
  /** What this receiver answered. */
  answered: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    webhookReceiver: string;
  }
}

interface TagState {
  secrets: string[];
  fail: number;
  received: ReceivedWebhook[];
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tags = new Map<string, TagState>();
  const state = (tag: string) => {
    let s = tags.get(tag);
    if (!s) tags.set(tag, (s = { secrets: [], fail: 0, received: [] }));
    return s;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /^\/(config|hook|received)\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end();
      const [, kind, tag = ''] = m;
      const s = state(tag);
      if (kind === 'config' && req.method === 'PUT') {
        const cfg = JSON.parse(body) as { secrets?: string[]; fail?: number };
        if (cfg.secrets) s.secrets = cfg.secrets;
        if (cfg.fail !== undefined) s.fail = cfg.fail;
        return void res.writeHead(204).end();
      }
      if (kind === 'received') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(s.received));
      if (kind !== 'hook' || req.method !== 'POST') return void res.writeHead(405).end();
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = s.secrets.flatMap((secret, i) => {
        try {
          new Webhook(secret).verify(body, headers);
          return [i];
        } catch {
          return [];
        }
      });
      const failing = s.fail > 0;
      if (failing) s.fail -= 1;
      const answered = failing ? 500 : verifiedWith.length > 0 ? 204 : 401;
      s.received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, verifiedWith, answered });
      if (failing) return void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('E'.repeat(2048));
      res.writeHead(answered).end();
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  project.provide('webhookReceiver', `http://127.0.0.1:${port}`);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
