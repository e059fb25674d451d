import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { getConfig } from '../../src/lib/config';
import { findDuplicateKey } from '../../src/lib/json-duplicates';
import { BASE, call, freshIp, json, registerUser } from '../helpers/api';

interface Envelope {
  error: { code: string; message: string; details?: { field: string; message: string }[]; requestId: string };
}

const LIMIT = getConfig(env).bodyLimitBytes;
const encoder = new TextEncoder();

/** A login body of exactly `size` bytes (valid JSON, the password padded). */
function loginBodyOfSize(size: number): string {
  const skeleton = JSON.stringify({ email: 'pad@example.com', password: '' });
  return JSON.stringify({ email: 'pad@example.com', password: 'p'.repeat(size - skeleton.length) });
}

function streamOf(chunks: number, chunkSize: number, fill = 'x'): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ >= chunks) return controller.close();
      controller.enqueue(encoder.encode(fill.repeat(chunkSize)));
    },
  });
}

/** Straight into the fetch handler: the Request (and its headers) reach the app untouched. */
async function direct(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function expectError(res: Response, status: number, code: string): Promise<Envelope> {
  expect(res.status).toBe(status);
  const body = await json<Envelope>(res);
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBe(res.headers.get('X-Request-Id'));
  return body;
}

describe('body size limit', () => {
  it('accepts a body of exactly the limit and refuses one byte more with 413', async () => {
    const exact = loginBodyOfSize(LIMIT);
    expect(encoder.encode(exact).byteLength).toBe(LIMIT);
    const ok = await call('/api/v1/auth/login', { rawBody: exact, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    expect(ok.status).toBe(400); // parsed and validated: the password is too long, not too large
    await expectError(await call('/api/v1/auth/login', { rawBody: loginBodyOfSize(LIMIT + 1), headers: { 'Content-Type': 'application/json' }, ip: freshIp() }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses an honest but too large Content-Length before reading the body', async () => {
    await expectError(await call('/api/v1/auth/register', { rawBody: 'x'.repeat(LIMIT * 4), headers: { 'Content-Type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('counts the bytes that arrive when Content-Length lies (smaller than the body)', async () => {
    const body = loginBodyOfSize(LIMIT * 2);
    const request = new Request(`${BASE}/api/v1/auth/login`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Length': '16' } });
    expect(request.headers.get('Content-Length')).toBe('16');
    await expectError(await direct(request), 413, 'PAYLOAD_TOO_LARGE');
    const viaBinding = new Request(`${BASE}/api/v1/auth/login`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Length': '16' } });
    await expectError(await exports.default.fetch(viaBinding), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('counts the bytes of a streamed body without Content-Length', async () => {
    const request = new Request(`${BASE}/api/v1/auth/register`, { method: 'POST', body: streamOf(40, 4096), headers: { 'Content-Type': 'application/json' } });
    expect(request.headers.get('Content-Length')).toBeNull();
    await expectError(await direct(request), 413, 'PAYLOAD_TOO_LARGE');
    const viaBinding = new Request(`${BASE}/api/v1/auth/register`, { method: 'POST', body: streamOf(40, 4096), headers: { 'Content-Type': 'application/json' } });
    await expectError(await exports.default.fetch(viaBinding), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('accepts a small streamed body without Content-Length', async () => {
    const user = await registerUser();
    const bytes = encoder.encode(JSON.stringify({ email: user.email, password: user.password }));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 10));
        c.enqueue(bytes.slice(10));
        c.close();
      },
    });
    const res = await direct(new Request(`${BASE}/api/v1/auth/login`, { method: 'POST', body: stream, headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': freshIp() } }));
    expect(res.status).toBe(200);
  });
});

describe('content type', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/jsonx', 'application/json-patch'])(
    'refuses %j with 415',
    async (type) => {
      const headers = { 'Content-Type': type };
      await expectError(await call('/api/v1/auth/login', { rawBody: '{"email":"a@example.com","password":"whatever1"}', headers, ip: freshIp() }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('refuses a body without any Content-Type with 415', async () => {
    const request = new Request(`${BASE}/api/v1/auth/login`, { method: 'POST', body: encoder.encode('{"email":"a@example.com","password":"whatever1"}') });
    expect(request.headers.get('Content-Type')).toBeNull();
    await expectError(await direct(request), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json'])('accepts %s', async (type) => {
    const res = await call('/api/v1/auth/login', { rawBody: '{"email":"nobody@example.com","password":"whatever1"}', headers: { 'Content-Type': type }, ip: freshIp() });
    expect(res.status).toBe(401);
  });
});

describe('malformed bodies', () => {
  it.each([
    ['truncated', '{"email": "a@example.com", "password": '],
    ['trailing garbage', '{"email":"a@example.com","password":"whatever1"} x'],
    ['single quotes', "{'email':'a@example.com'}"],
    ['a comment', '{"email":"a@example.com" /* hi */}'],
    ['NaN', '{"n": NaN}'],
    ['a lone surrogate-free control char', '{"a":"\u0001"}'],
  ])('answers %s JSON with the 400 envelope', async (_name, raw) => {
    const body = await expectError(await call('/api/v1/auth/login', { rawBody: raw, headers: { 'Content-Type': 'application/json' }, ip: freshIp() }), 400, 'VALIDATION_ERROR');
    expect(body.error.details).toEqual([{ field: '(body)', message: 'Malformed JSON' }]);
  });

  it('answers bytes that are not UTF-8 with 400', async () => {
    const raw = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    await expectError(await call('/api/v1/auth/login', { rawBody: raw, headers: { 'Content-Type': 'application/json' }, ip: freshIp() }), 400, 'VALIDATION_ERROR');
  });

  it('answers an empty body on a route that needs one with 400', async () => {
    const body = await expectError(await call('/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, ip: freshIp() }), 400, 'VALIDATION_ERROR');
    expect(body.error.details).toEqual([{ field: '(body)', message: 'A JSON body is required' }]);
  });

  it('answers very deep nesting with 400, not a crash', async () => {
    const depth = Math.floor((LIMIT - 10) / 2);
    const res = await call('/api/v1/auth/login', { rawBody: `${'['.repeat(depth)}${']'.repeat(depth)}`, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    expect(res.status).toBe(400);
  });
});

describe('prototype pollution', () => {
  it.each([
    ['__proto__', '{"email":"a@example.com","password":"whatever1","__proto__":{"polluted":"yes"}}'],
    ['escaped __proto__', '{"email":"a@example.com","password":"whatever1","\\u005f_proto__":{"polluted":"yes"}}'],
    ['constructor.prototype', '{"email":"a@example.com","password":"whatever1","constructor":{"prototype":{"polluted":"yes"}}}'],
    ['nested __proto__', '{"email":"a@example.com","password":"whatever1","fullName":{"__proto__":{"isAdmin":true}}}'],
    ['__proto__ in an array', '{"email":"a@example.com","password":"whatever1","x":[{"__proto__":{"polluted":"yes"}}]}'],
    ['prototype', '{"prototype":{"polluted":"yes"}}'],
  ])('refuses %s with 400 and pollutes nothing', async (_name, raw) => {
    const res = await call('/api/v1/auth/register', { rawBody: raw, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    const body = await expectError(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.[0]?.field).toBe('(body)');
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(probe.isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('isAdmin');
  });

  it('creates no account from a polluting register payload', async () => {
    const email = `proto-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await call('/api/v1/auth/register', { rawBody: `{"email":"${email}","password":"long enough pass","__proto__":{"roles":["admin"]}}`, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    const row = await env.AUTH_DB.prepare('SELECT id FROM users WHERE email = ?').bind(email).first();
    expect(row).toBeNull();
  });
});

describe('duplicate keys', () => {
  it.each([
    ['at the top', '{"email":"a@example.com","email":"x@example.com","password":"whatever1"}', 'email'],
    ['spelled with an escape', '{"email":"a@example.com","\\u0065mail":"x@example.com","password":"whatever1"}', 'email'],
    ['in a nested object', '{"email":"a@example.com","password":"whatever1","fullName":{"first":"a","first":"b"}}', 'fullName.first'],
    ['in an array element', '{"email":"a@example.com","password":"whatever1","x":[{"k":1},{"k":1,"j":2,"k":3}]}', 'x.1.k'],
  ])('refuses a key repeated %s with 400, naming it', async (_name, raw, field) => {
    const res = await call('/api/v1/auth/login', { rawBody: raw, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    const body = await expectError(res, 400, 'VALIDATION_ERROR');
    expect(body.error.message).toBe('Request body repeats a key');
    expect(body.error.details).toEqual([{ field, message: `Duplicate key "${field.split('.').at(-1)}"` }]);
  });

  it('lets equal keys in sibling objects and key-like text inside strings through', async () => {
    const raw = JSON.stringify({ email: 'nobody@example.com', password: '","email":"x","password":"' });
    const res = await call('/api/v1/auth/login', { rawBody: raw, headers: { 'Content-Type': 'application/json' }, ip: freshIp() });
    expect(res.status).toBe(401);
  });

  it.each([
    ['{"a":1,"a":2}', { key: 'a', path: 'a' }],
    ['{"a":{"b":{"c":1}},"d":{"b":{"c":1,"c":2}}}', { key: 'c', path: 'd.b.c' }],
    ['[[{"x":1}],[{"y":1},{"z":[1,{"q":"}","q":"]"}]}]]', { key: 'q', path: '1.1.z.1.q' }],
    ['{"a\\"b":1,"a\\u0022b":2}', { key: 'a"b', path: 'a"b' }],
    ['{"":1,"":2}', { key: '', path: '' }],
  ])('finds the repeated key in %s', (text, expected) => {
    JSON.parse(text);
    expect(findDuplicateKey(text)).toEqual(expected);
  });

  it.each(['{}', '[]', '{"a":[],"b":{},"c":"a","d":{"a":1},"e":[{"a":1},{"a":2}]}', '{"a":"\\\\","b":"\\"a\\"","a\\\\":1}', ' { "a" : 1 , "b" : [ 1 , 2 ] } '])('finds none in %s', (text) => {
    JSON.parse(text);
    expect(findDuplicateKey(text)).toBeNull();
  });
});

describe('requests without a body', () => {
  it('ignores a body sent with DELETE', async () => {
    const user = await registerUser();
    const sid = JSON.parse(atob(user.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string;
    const res = await call(`/api/v1/auth/sessions/${sid}`, { method: 'DELETE', token: user.accessToken, rawBody: 'not json at all', headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(204);
  });

  it('lets a POST without a body through to a route that needs none', async () => {
    const user = await registerUser();
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: user.accessToken })).status).toBe(204);
  });
});
