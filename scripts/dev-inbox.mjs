// The local dev inbox (SPEC "Local development"): an SMTP catcher on 127.0.0.1:1025 that the
// Worker's real SMTP channel sends to under `npm run dev`, and a web inbox on 127.0.0.1:8025:
//   GET  /                           the inbox page (no third-party origin)
//   GET  /api/messages?to=<address>  {"data": [{id, channel, to, from, subject, text, html, receivedAt}]}, newest first
//   GET  /api/messages/:id           one message
//   DELETE /api/messages             empties the inbox
//   POST /api/messages               used by the Worker's recording SMS/push providers in dev
// In memory only, bounded, loopback only. Started by scripts/dev.mjs; `node scripts/dev-inbox.mjs`
// runs it alone. Ports: DEV_INBOX_SMTP_PORT / DEV_INBOX_HTTP_PORT (defaults 1025 / 8025).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import PostalMime from 'postal-mime';
import { SMTPServer } from 'smtp-server';

const MAX_MESSAGES = 500;
const MAX_POST_BYTES = 256 * 1024;
const CHANNELS = new Set(['email', 'sms', 'push']);

const escapeHtml = (s) => String(s ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

function page(messages) {
  const rows = messages
    .map(
      (m) => `<article><header><span class="ch ${escapeHtml(m.channel)}">${escapeHtml(m.channel)}</span> <b>${escapeHtml(m.subject || '(no subject)')}</b>
<small>to ${escapeHtml(m.to)} · ${escapeHtml(m.receivedAt)}</small></header><pre>${escapeHtml(m.text)}</pre></article>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>app-ubr dev inbox (${messages.length})</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}article{border:1px solid #ccc;border-radius:6px;margin:0 0 1rem;padding:.5rem 1rem}
pre{white-space:pre-wrap;word-break:break-all}small{color:#666;margin-left:.5rem}.ch{font-size:11px;padding:1px 6px;border-radius:3px;background:#eee}
.email{background:#dbeafe}.sms{background:#dcfce7}.push{background:#fef9c3}</style></head>
<body><h1>Dev inbox</h1><p>Mail sent by the Worker over SMTP to 127.0.0.1, plus SMS and push from the recording providers. JSON: <code>/api/messages?to=&lt;address&gt;</code>. Refreshes every 5 s.</p>
${rows || '<p><i>Nothing yet.</i></p>'}</body></html>`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_POST_BYTES) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server, port, host, address = () => server.address()) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(address().port));
  });
}

/**
 * Starts both servers. Resolves with their ports and a close(); rejects when a port is taken.
 * @param {{ host?: string, smtpPort?: number, httpPort?: number }} [options]
 */
export async function startInbox(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const messages = [];
  const keep = (m) => {
    messages.unshift({ id: randomUUID(), receivedAt: new Date().toISOString(), html: null, from: null, ...m });
    if (messages.length > MAX_MESSAGES) messages.length = MAX_MESSAGES;
  };

  const smtp = new SMTPServer({
    secure: false,
    hideSTARTTLS: true,
    // No AUTH offered (a client that sees it insists on credentials): loopback, development only.
    disabledCommands: ['AUTH'],
    authOptional: true,
    size: 5 * 1024 * 1024,
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', async () => {
        try {
          const mail = await PostalMime.parse(Buffer.concat(chunks));
          const to = session.envelope.rcptTo.map((r) => r.address);
          for (const address of to.length > 0 ? to : ['']) {
            keep({
              channel: 'email',
              to: address.toLowerCase(),
              from: mail.from?.address ?? session.envelope.mailFrom?.address ?? null,
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              html: mail.html ?? null,
            });
          }
          callback();
        } catch (err) {
          callback(err);
        }
      });
    },
  });

  const http = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const send = (status, body, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'" });
      res.end(type === 'application/json' ? JSON.stringify(body) : body);
    };
    try {
      if (req.method === 'GET' && url.pathname === '/') return send(200, page(messages), 'text/html');
      if (url.pathname === '/api/messages' && req.method === 'GET') {
        const to = url.searchParams.get('to')?.trim().toLowerCase();
        const channel = url.searchParams.get('channel');
        return send(200, { data: messages.filter((m) => (!to || m.to === to) && (!channel || m.channel === channel)) });
      }
      if (url.pathname === '/api/messages' && req.method === 'DELETE') {
        messages.length = 0;
        return send(204, '');
      }
      if (url.pathname === '/api/messages' && req.method === 'POST') {
        const body = JSON.parse(await readBody(req));
        if (!CHANNELS.has(body.channel) || typeof body.to !== 'string' || typeof body.text !== 'string') return send(400, { error: 'channel, to and text are required' });
        keep({ channel: body.channel, to: body.to.toLowerCase(), from: typeof body.from === 'string' ? body.from : null, subject: typeof body.subject === 'string' ? body.subject : '', text: body.text });
        return send(201, { ok: true });
      }
      const one = /^\/api\/messages\/([0-9a-f-]{36})$/.exec(url.pathname);
      if (one && req.method === 'GET') {
        const m = messages.find((x) => x.id === one[1]);
        return m ? send(200, m) : send(404, { error: 'not found' });
      }
      return send(404, { error: 'not found' });
    } catch {
      return send(400, { error: 'bad request' });
    }
  });

  const smtpPort = await listen(smtp, options.smtpPort ?? 1025, host, () => smtp.server.address());
  let httpPort;
  try {
    httpPort = await listen(http, options.httpPort ?? 8025, host);
  } catch (err) {
    smtp.close();
    throw err;
  }
  return {
    smtpPort,
    httpPort,
    url: `http://${host}:${httpPort}`,
    close: () => Promise.all([new Promise((r) => smtp.close(r)), new Promise((r) => http.close(r))]),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const inbox = await startInbox({ smtpPort: Number(process.env.DEV_INBOX_SMTP_PORT ?? 1025), httpPort: Number(process.env.DEV_INBOX_HTTP_PORT ?? 8025) });
  console.log(`dev inbox: SMTP 127.0.0.1:${inbox.smtpPort}, web ${inbox.url}`);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => inbox.close().then(() => process.exit(0)));
}
