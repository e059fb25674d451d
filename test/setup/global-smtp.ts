// Node-side globalSetup: a real SMTP server (the `smtp-server` package) on an ephemeral
// loopback port, plus a tiny HTTP inbox so tests running inside workerd can read what it
// received, and a webhook sink for alert tests. Ports are ephemeral (0) because several
// vitest runs may share this machine.
//
// Behaviour switches, chosen by the recipient's local part (so tests need no shared state):
//   reject-perm-*@…  → 550 at RCPT TO (permanent)
//   reject-temp-*@…  → 451 at RCPT TO (transient)
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { TestProject } from 'vitest/node';

export interface ReceivedMail {
  mailFrom: string | null;
  rcptTo: string[];
  user: string | null;
  raw: string;
}

export interface SmtpTestServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** GET → JSON array of ReceivedMail; `?to=` filters by envelope recipient. */
  inboxUrl: string;
  /** Base of the webhook sink: POST `${hooksUrl}/<name>` records, GET lists. */
  hooksUrl: string;
  /** A TCP port that accepts and closes every connection at once (a server going away). */
  closingPort: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    smtp: SmtpTestServer;
  }
}

const USER = 'mailer';
const PASSWORD = 'test-only-smtp-password';

function listen(server: { listen: (port: number, host: string, cb: () => void) => unknown }, address: () => AddressInfo | string | null): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((address() as AddressInfo).port));
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const inbox: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    secure: false,
    hideSTARTTLS: true,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    size: 1024 * 1024,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: USER });
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      const local = address.address.split('@')[0] ?? '';
      if (local.startsWith('reject-perm')) return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      if (local.startsWith('reject-temp')) return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        inbox.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : null,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  const smtpPort = await listen(smtp, () => smtp.server.address());

  // Webhook sink: POST /hooks/<name> records the JSON body; GET /hooks/<name> lists them.
  const hooks = new Map<string, unknown[]>();
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const hook = /^\/hooks\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname)?.[1];
    if (hook && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const list = hooks.get(hook) ?? [];
        list.push(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
        hooks.set(hook, list);
        res.writeHead(204).end();
      });
      return;
    }
    if (hook && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(hooks.get(hook) ?? []));
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/messages') {
      res.writeHead(404).end();
      return;
    }
    const to = url.searchParams.get('to');
    const list = to ? inbox.filter((m) => m.rcptTo.includes(to)) : inbox;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list));
  });
  const httpPort = await listen(http, () => http.address());

  const closing = createTcpServer((socket) => socket.destroy());
  const closingPort = await listen(closing, () => closing.address());

  project.provide('smtp', { host: '127.0.0.1', port: smtpPort, user: USER, password: PASSWORD, inboxUrl: `http://127.0.0.1:${httpPort}/messages`, hooksUrl: `http://127.0.0.1:${httpPort}/hooks`, closingPort });

  return async () => {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
}
