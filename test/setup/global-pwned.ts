// Node-side globalSetup: a local server speaking the Pwned Passwords range API, so the
// breached-password check is tested over real HTTP from inside workerd. Every request is
// recorded, so tests can assert what went over the wire (5-character prefixes only).
//
//   GET /range/<tag>/<PREFIX>  → 200 text/plain, `SUFFIX:COUNT` CRLF lines: the breached
//                                 passwords under that prefix, decoys, and padding (count 0)
//   GET /slow/<tag>/<PREFIX>   → answers only after 5 s (the client must give up first)
//   GET /fail/<tag>/<PREFIX>   → 500
//   GET /requests?tag=<tag>    → JSON array of RecordedRequest whose path contains the tag
// The tag is a per-test string, so tests never see each other's requests.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';

export interface RecordedRequest {
  method: string;
  path: string;
  addPadding: string | null;
}

export interface PwnedTestServer {
  /** `http://127.0.0.1:<port>`: append `/range/<tag>` (or slow, fail) for PWNED_PASSWORDS_URL. */
  origin: string;
  /** Listed with a non-zero count. */
  breached: string[];
  /** Its suffix appears only as a padding entry (count 0): not breached. */
  paddedOnly: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pwned: PwnedTestServer;
  }
}

const BREACHED = ['hunter2-breached', 'correct horse battery staple', 'Tr0ub4dor&3', 'P@ssw0rd-from-2019'];
const PADDED_ONLY = 'only-in-the-padding-42';
const SLOW_MS = 5_000;

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex').toUpperCase();
const randomSuffix = (): string => randomBytes(18).toString('hex').toUpperCase().slice(0, 35);

function rangeBody(prefix: string): string {
  const lines: string[] = [];
  for (const pw of BREACHED) {
    const hash = sha1(pw);
    if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:${1_000 + pw.length}`);
  }
  const padded = sha1(PADDED_ONLY);
  if (padded.startsWith(prefix)) lines.push(`${padded.slice(5)}:0`);
  for (let i = 0; i < 20; i += 1) lines.push(`${randomSuffix()}:${i + 1}`); // other people's breached passwords
  for (let i = 0; i < 30; i += 1) lines.push(`${randomSuffix()}:0`); // padding
  return lines.sort().join('\r\n');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const recorded: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/requests') {
      const tag = url.searchParams.get('tag') ?? '';
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(recorded.filter((r) => tag && r.path.includes(`/${tag}/`))));
      return;
    }
    const padding = req.headers['add-padding'];
    recorded.push({ method: req.method ?? '', path: url.pathname, addPadding: typeof padding === 'string' ? padding : null });
    const match = /^\/(range|slow|fail)\/[A-Za-z0-9_-]+\/([0-9A-F]{5})$/.exec(url.pathname);
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    const [, mode, prefix = ''] = match;
    if (mode === 'fail') {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('upstream error');
      return;
    }
    const answer = () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(rangeBody(prefix));
    if (mode === 'slow') {
      const timer = setTimeout(answer, SLOW_MS);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    answer();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

  project.provide('pwned', { origin: `http://127.0.0.1:${port}`, breached: BREACHED, paddedOnly: PADDED_ONLY });

  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
