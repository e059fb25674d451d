// A small HTTP server that speaks the Upstash Redis REST protocol in front of a local
// redis-server, so @upstash/redis and @upstash/ratelimit run unchanged against real Redis in
// tests and local benchmarks (no Docker, no network). Protocol implemented:
//   POST /            body ["CMD", "arg", ...]          → {"result": …} | 400 {"error": "…"}
//   POST /pipeline    body [["CMD", …], …]               → [{"result": …} | {"error": "…"}, …]
//   POST /multi-exec  same, run inside MULTI/EXEC        → same shape; 400 if the transaction aborts
//   Authorization: Bearer <token> (401 otherwise); `Upstash-Encoding: base64` encodes every
//   string result in base64 except the status "OK", as Upstash does and the client expects.
// One deliberate translation: @upstash/ratelimit's Lua scripts start with
// `#!lua flags=allow-key-locking`, a flag Upstash accepts and Redis 7.0 (Debian) rejects
// ("Unexpected flag in script shebang"). The bridge strips that one flag (script bodies run
// unchanged) and maps the client's EVALSHA hash to the hash Redis knows.
//
// Standalone: node scripts/upstash-bridge.mjs --redis-port 6379 [--port 8079] [--token dev-token]
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';

const MAX_BODY = 1 << 20;
const CRLF = '\r\n';

class RespError {
  constructor(message) {
    this.message = message;
  }
}

/** Incremental RESP2 parser: returns [value, nextOffset] or null when the buffer is incomplete. */
function parseReply(buf, offset) {
  const eol = buf.indexOf(CRLF, offset);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, eol);
  const next = eol + 2;
  if (type === '+') return [line, next];
  if (type === '-') return [new RespError(line), next];
  if (type === ':') return [Number(line), next];
  if (type === '$') {
    const len = Number(line);
    if (len < 0) return [null, next];
    if (buf.length < next + len + 2) return null;
    return [buf.subarray(next, next + len), next + len + 2];
  }
  if (type === '*') {
    const count = Number(line);
    if (count < 0) return [null, next];
    const items = [];
    let at = next;
    for (let i = 0; i < count; i += 1) {
      const parsed = parseReply(buf, at);
      if (!parsed) return null;
      items.push(parsed[0]);
      at = parsed[1];
    }
    return [items, at];
  }
  throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
}

function encodeCommand(args) {
  const parts = [`*${args.length}${CRLF}`];
  for (const arg of args) {
    const s = typeof arg === 'string' ? arg : arg === null || arg === undefined ? '' : typeof arg === 'object' ? JSON.stringify(arg) : String(arg);
    parts.push(`$${Buffer.byteLength(s)}${CRLF}${s}${CRLF}`);
  }
  return parts.join('');
}

/** One pipelined connection; replies come back in command order (RESP guarantees it). */
function redisConnection(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const waiting = [];
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      let offset = 0;
      for (;;) {
        const parsed = offset < buffer.length ? parseReply(buffer, offset) : null;
        if (!parsed) break;
        offset = parsed[1];
        waiting.shift()?.resolve(parsed[0]);
      }
      buffer = buffer.subarray(offset);
    });
    const fail = (err) => {
      for (const w of waiting.splice(0)) w.reject(err);
    };
    socket.on('error', (err) => {
      fail(err);
      reject(err);
    });
    socket.on('close', () => fail(new Error('redis connection closed')));
    socket.on('connect', () =>
      resolve({
        /** Sends several commands in one write so no other request can interleave (MULTI/EXEC). */
        send(commands) {
          const replies = commands.map(() => new Promise((res, rej) => waiting.push({ resolve: res, reject: rej })));
          socket.write(commands.map(encodeCommand).join(''));
          return Promise.all(replies);
        },
        close: () => socket.end(),
      }),
    );
  });
}

const sha1 = (s) => createHash('sha1').update(s).digest('hex');
const STRIPPED_FLAG = 'allow-key-locking';

function makeScriptRewriter() {
  const shaMap = new Map();
  const rewrite = (script) => {
    const m = /^#!lua flags=([^\n]*)\n/.exec(script);
    if (!m || !m[1].split(',').includes(STRIPPED_FLAG)) return script;
    const flags = m[1].split(',').filter((f) => f !== STRIPPED_FLAG);
    const fixed = `#!lua${flags.length ? ` flags=${flags.join(',')}` : ''}\n${script.slice(m[0].length)}`;
    shaMap.set(sha1(script), sha1(fixed));
    return fixed;
  };
  return (command) => {
    const name = String(command[0] ?? '').toUpperCase();
    if (name === 'EVAL' || name === 'EVAL_RO') return [command[0], rewrite(String(command[1] ?? '')), ...command.slice(2)];
    if (name === 'SCRIPT' && String(command[1] ?? '').toUpperCase() === 'LOAD') return [command[0], command[1], rewrite(String(command[2] ?? ''))];
    if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && shaMap.has(String(command[1]))) return [command[0], shaMap.get(String(command[1])), ...command.slice(2)];
    return command;
  };
}

function toJson(value, base64) {
  if (value instanceof RespError) return { error: value.message };
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 && value !== 'OK' ? Buffer.from(value).toString('base64') : value;
  if (Array.isArray(value)) return value.map((v) => (v instanceof RespError ? v.message : toJson(v, base64)));
  return value;
}

const entry = (value, base64) => (value instanceof RespError ? { error: value.message } : { result: toJson(value, base64) });

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const isCommand = (c) => Array.isArray(c) && c.length > 0 && typeof c[0] === 'string';

/** Starts the bridge; resolves to { url, port, close() }. */
export async function startUpstashBridge({ redisPort, redisHost = '127.0.0.1', token, port = 0, host = '127.0.0.1' }) {
  if (!token) throw new Error('startUpstashBridge: a token is required');
  const redis = await redisConnection(redisPort, redisHost);
  const fix = makeScriptRewriter();
  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const auth = Buffer.from(req.headers.authorization ?? '');
      if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return reply(401, { error: 'Unauthorized' });
      if (req.method !== 'POST') return reply(405, { error: 'Method not allowed' });
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
      const body = JSON.parse(await readBody(req));
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/' || path === '') {
        if (!isCommand(body)) return reply(400, { error: 'ERR body must be a JSON array command' });
        const [value] = await redis.send([fix(body)]);
        return value instanceof RespError ? reply(400, { error: value.message }) : reply(200, { result: toJson(value, base64) });
      }
      if (path === '/pipeline' || path === '/multi-exec') {
        if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) return reply(400, { error: 'ERR body must be a JSON array of commands' });
        const commands = body.map(fix);
        if (path === '/pipeline') return reply(200, (await redis.send(commands)).map((v) => entry(v, base64)));
        const replies = await redis.send([['MULTI'], ...commands, ['EXEC']]);
        const exec = replies[replies.length - 1];
        if (exec instanceof RespError || exec === null) return reply(400, { error: exec?.message ?? 'ERR transaction aborted' });
        return reply(200, exec.map((v) => entry(v, base64)));
      }
      return reply(404, { error: `ERR unknown path ${path}` });
    } catch (err) {
      return reply(400, { error: `ERR ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise((resolve) => {
        redis.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const bridge = await startUpstashBridge({ redisPort: Number(arg('redis-port', '6379')), port: Number(arg('port', '8079')), token: arg('token', 'dev-token') });
  console.log(`Upstash REST bridge on ${bridge.url} → redis 127.0.0.1:${arg('redis-port', '6379')}`);
}
