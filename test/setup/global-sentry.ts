// Node-side globalSetup: a real HTTP server posing as Sentry's ingest endpoint. It parses each
// envelope the way Relay does (header line, then items whose header gives the payload's byte
// length) and rejects malformed ones with 400, so a test sees exactly what reached "Sentry".
// Each test uses its own numeric project id, so tests never see each other's events.
//
//   POST /api/<project>/envelope/   the endpoint a DSN http://<key>@127.0.0.1:<port>/<project> points at
//   GET  /received/<project>        JSON array of ReceivedEnvelope
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';

export interface ReceivedEnvelope {
  /** The X-Sentry-Auth header as sent. */
  auth: string;
  contentType: string;
  /** The whole body, to search for anything that must not have left the Worker. */
  raw: string;
  header: Record<string, unknown>;
  items: { header: Record<string, unknown>; payload: Record<string, unknown> }[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    sentryIngest: string;
  }
}

/** Relay's envelope grammar: `Envelope = Headers { "\n" Item } [ "\n" ]`, `Item = Headers "\n" Payload`. */
export function parseEnvelope(body: Buffer): Pick<ReceivedEnvelope, 'header' | 'items'> {
  let at = body.indexOf(0x0a);
  if (at < 0) throw new Error('no envelope header line');
  const header = JSON.parse(body.subarray(0, at).toString('utf8')) as Record<string, unknown>;
  const items: ReceivedEnvelope['items'] = [];
  let pos = at + 1;
  while (pos < body.length) {
    at = body.indexOf(0x0a, pos);
    if (at < 0) throw new Error('item header without payload');
    const itemHeader = JSON.parse(body.subarray(pos, at).toString('utf8')) as Record<string, unknown>;
    pos = at + 1;
    let end: number;
    if (typeof itemHeader.length === 'number') {
      end = pos + itemHeader.length;
      if (end > body.length || (end < body.length && body[end] !== 0x0a)) throw new Error('item length does not match its payload');
    } else {
      end = body.indexOf(0x0a, pos);
      if (end < 0) end = body.length;
    }
    items.push({ header: itemHeader, payload: JSON.parse(body.subarray(pos, end).toString('utf8')) as Record<string, unknown> });
    pos = end + 1;
  }
  return { header, items };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const received = new Map<string, ReceivedEnvelope[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const read = /^\/received\/(\d+)$/.exec(req.url ?? '');
      if (read && req.method === 'GET') {
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(received.get(read[1]!) ?? []));
      }
      const ingest = /^\/api\/(\d+)\/envelope\/$/.exec(req.url ?? '');
      if (!ingest || req.method !== 'POST') return void res.writeHead(404).end();
      const auth = String(req.headers['x-sentry-auth'] ?? '');
      if (!/sentry_key=[^,\s]+/.test(auth)) return void res.writeHead(401).end('{"detail":"missing authorization information"}');
      try {
        const parsed = parseEnvelope(body);
        const list = received.get(ingest[1]!) ?? [];
        list.push({ auth, contentType: String(req.headers['content-type'] ?? ''), raw: body.toString('utf8'), ...parsed });
        received.set(ingest[1]!, list);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: parsed.header.event_id }));
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ detail: String(err) }));
      }
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  project.provide('sentryIngest', `127.0.0.1:${port}`);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
