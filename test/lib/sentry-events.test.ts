import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { parseSentryDsn, scrubUrl } from '../../src/lib/sentry';
import { parseStackFrames } from '../../src/lib/stack-frames';
import { callWithEnv } from '../helpers/tokens';
import type { ReceivedEnvelope } from '../setup/global-sentry';

interface Frame {
  function: string;
  filename?: string;
  abs_path?: string;
  lineno?: number;
  colno?: number;
  in_app: boolean;
}
interface SentryEvent {
  event_id: string;
  release: string;
  environment: string;
  transaction: string;
  tags: Record<string, string>;
  contexts: { cloudflare: Record<string, string> };
  request: { method: string; url: string; query_string?: string; headers: Record<string, string> };
  exception: { values: { type: string; value: string; stacktrace?: { frames: Frame[] } }[] };
}

let nextProject = 1000 + Math.floor(Math.random() * 1000);

/** A project of its own on the local ingest stand-in, and a reader of what it received. */
function sentryProject(): { dsn: string; received: () => Promise<ReceivedEnvelope[]> } {
  const project = nextProject++;
  const host = inject('sentryIngest');
  return {
    dsn: `http://publickey-${project}@${host}/${project}`,
    received: async () => (await fetch(`http://${host}/received/${project}`)).json<ReceivedEnvelope[]>(),
  };
}

const V8_STACK = `TypeError: Cannot read properties of undefined (reading 'x') for alice@example.com
    at parseKeys (/home/alice/app-ubr/src/lib/jwt.ts:41:17)
    at async signingKeys (/home/alice/app-ubr/src/lib/jwt.ts:60:10)
    at new KeyRing (file:///home/alice/app-ubr/src/lib/keys.ts:12:5)
    at Object.<anonymous> (/home/alice/app-ubr/node_modules/hono/dist/hono-base.js:301:24)
    at dispatch (/home/alice/app-ubr/node_modules/.vite/deps/hono.js?v=1a2b3c:88:9)
    at JSON.parse (<anonymous>)
    at eval (eval at compile (/home/alice/app-ubr/src/lib/template.ts:5:3), <anonymous>:1:1)
    at Object.fetch (index.js:1:23456)
    at async Promise.all (index 0)`;

describe('stack frames', () => {
  it('parses V8 frames oldest first with file, function, line, column and in_app', () => {
    const frames = parseStackFrames(V8_STACK);
    expect(frames.map((f) => f.function)).toEqual(['Promise.all', 'Object.fetch', 'eval', 'JSON.parse', 'dispatch', 'Object.<anonymous>', 'new KeyRing', 'signingKeys', 'parseKeys']);
    // The frame that threw is last.
    expect(frames.at(-1)).toEqual({ function: 'parseKeys', filename: 'src/lib/jwt.ts', abs_path: 'app:///src/lib/jwt.ts', lineno: 41, colno: 17, in_app: true });
    expect(frames.find((f) => f.function === 'new KeyRing')).toMatchObject({ filename: 'src/lib/keys.ts', lineno: 12, colno: 5, in_app: true });
    expect(frames.find((f) => f.function === 'Object.<anonymous>')).toMatchObject({ filename: 'node_modules/hono/dist/hono-base.js', in_app: false });
    expect(frames.find((f) => f.function === 'dispatch')).toMatchObject({ filename: 'node_modules/.vite/deps/hono.js', lineno: 88, in_app: false });
    expect(frames.find((f) => f.function === 'JSON.parse')).toEqual({ function: 'JSON.parse', in_app: false });
    expect(frames.find((f) => f.function === 'eval')).toMatchObject({ filename: 'src/lib/template.ts', lineno: 5, colno: 3 });
    // The deployed bundle: one module, mapped by the source map uploaded for the release.
    expect(frames.find((f) => f.function === 'Object.fetch')).toMatchObject({ filename: 'index.js', abs_path: 'app:///index.js', lineno: 1, colno: 23456, in_app: true });
    // The message line (with its email) and the home directory never make it into a frame.
    expect(JSON.stringify(frames)).not.toMatch(/alice|home/);
  });

  it('keeps the newest 50 frames of a deep stack', () => {
    const deep = ['Error: deep', ...Array.from({ length: 80 }, (_, i) => `    at f${i} (/app/src/x.ts:${i + 1}:1)`)].join('\n');
    const frames = parseStackFrames(deep);
    expect(frames).toHaveLength(50);
    expect(frames.at(-1)!.function).toBe('f0');
  });
});

describe('event scrubbing', () => {
  it('keeps query parameter names, filters every value, and cuts ids, tokens and emails out of the path', () => {
    expect(scrubUrl('https://api.example.com/api/v1/users/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/sessions?token=abc&email=bob%40example.com&code=123456')).toEqual({
      url: 'https://api.example.com/api/v1/users/[Filtered]/sessions',
      query_string: 'token=[Filtered]&email=[Filtered]&code=[Filtered]',
    });
    expect(scrubUrl('https://api.example.com/api/v1/lookup/bob@example.com').url).toBe('https://api.example.com/api/v1/lookup/[Filtered]');
  });

  it('accepts plain http only for a DSN on this machine', () => {
    expect(parseSentryDsn('http://k@127.0.0.1:9000/3')).toEqual({ endpoint: 'http://127.0.0.1:9000/api/3/envelope/', key: 'k' });
    expect(parseSentryDsn('https://k@o1.ingest.sentry.io/3')).toEqual({ endpoint: 'https://o1.ingest.sentry.io/api/3/envelope/', key: 'k' });
    expect(parseSentryDsn('http://k@sentry.example.com/3')).toBeNull();
    expect(parseSentryDsn('http://k@127.0.0.1.evil.example/3')).toBeNull();
  });
});

describe('Sentry events at a real ingest endpoint', () => {
  const secrets = {
    bearer: 'eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXNlY3JldA',
    cookie: 'session-cookie-value-7f3a9c',
    apiKey: 'ubr_live_4f8a1c9e2b7d6a5f3e1c0b9a',
    queryToken: 'magic-7Hq2xZp9LmN4vB8c',
    ip: '198.51.100.77',
  };

  async function failingRequest(overrides: Partial<CloudflareBindings>): Promise<Response> {
    // A broken signing-key set makes the JWKS route throw an unexpected error: a real 500.
    return callWithEnv({ JWT_SIGNING_KEYS: '{not json', ...overrides }, `/.well-known/jwks.json?access_token=${secrets.queryToken}&debug=1`, {
      ip: secrets.ip,
      headers: { Authorization: `Bearer ${secrets.bearer}`, Cookie: `sid=${secrets.cookie}`, 'X-API-Key': secrets.apiKey, 'User-Agent': 'app-ubr-test/1.0' },
    });
  }

  it('delivers an envelope with parsed frames, the release, the version and the environment', async () => {
    const sentry = sentryProject();
    const meta = { id: '5b0c4f7e-2a51-4d7e-9a53-0f1d9c3b7a21', tag: '', timestamp: '2026-12-02T10:00:00.000Z' };
    const res = await failingRequest({ SENTRY_DSN: sentry.dsn, APP_VERSION: '0.2.0+abc1234', CF_VERSION_METADATA: meta });
    expect(res.status).toBe(500);
    const [envelope, ...more] = await sentry.received();
    expect(more).toHaveLength(0);
    expect(envelope!.contentType).toBe('application/x-sentry-envelope');
    expect(envelope!.auth).toMatch(/^Sentry sentry_version=7, sentry_key=publickey-\d+, sentry_client=app-ubr\.envelope\/1\.0\.0$/);
    expect(envelope!.items).toHaveLength(1);
    expect(envelope!.items[0]!.header).toMatchObject({ type: 'event', content_type: 'application/json' });
    const event = envelope!.items[0]!.payload as unknown as SentryEvent;
    expect(event.event_id).toBe(envelope!.header.event_id);
    expect(event.event_id).toMatch(/^[0-9a-f]{32}$/);
    expect(event).toMatchObject({ release: 'app-ubr@0.2.0+abc1234', environment: 'development', transaction: 'GET /.well-known/jwks.json' });
    expect(event.tags).toMatchObject({ route: '/.well-known/jwks.json', method: 'GET', cf_version_id: meta.id, requestId: res.headers.get('X-Request-Id') });
    expect(event.contexts.cloudflare).toMatchObject({ version_id: meta.id, version_tag: '', version_timestamp: meta.timestamp });

    const [exception] = event.exception.values;
    expect(exception).toMatchObject({ type: 'Error', value: 'JWT_SIGNING_KEYS is not valid JSON' });
    const frames = exception!.stacktrace!.frames;
    expect(frames.length).toBeGreaterThan(2);
    const located = frames.filter((f) => f.filename);
    expect(located.length).toBeGreaterThan(0);
    for (const f of located) {
      expect(f.lineno).toBeGreaterThan(0);
      expect(f.colno).toBeGreaterThan(0);
      expect(f.abs_path).toBe(`app:///${f.filename}`);
      expect(f.filename).not.toMatch(/^\//); // no absolute local path (home directories)
    }
    // Oldest first: the function that threw is last, its caller before it; Hono's frames are not ours.
    expect(frames.at(-1)).toMatchObject({ function: 'buildRing', filename: 'src/security/jwt.ts', in_app: true });
    expect(frames.at(-2)).toMatchObject({ function: 'getKeyRing', filename: 'src/security/jwt.ts', in_app: true });
    expect(frames.filter((f) => f.in_app).every((f) => f.filename?.startsWith('src/'))).toBe(true);
    const hono = frames.filter((f) => f.filename?.startsWith('node_modules/hono/'));
    expect(hono.length).toBeGreaterThan(0);
    expect(hono.every((f) => !f.in_app)).toBe(true);
  });

  it('names the release by the version tag when APP_VERSION has no build part, and reads the real version binding', async () => {
    const sentry = sentryProject();
    await failingRequest({ SENTRY_DSN: sentry.dsn, APP_VERSION: '0.2.0', CF_VERSION_METADATA: { id: 'f00d', tag: 'deadbee', timestamp: '' } });
    const tagged = (await sentry.received())[0]!.items[0]!.payload as unknown as SentryEvent;
    expect(tagged.release).toBe('app-ubr@0.2.0+deadbee');

    const local = sentryProject();
    await failingRequest({ SENTRY_DSN: local.dsn }); // CF_VERSION_METADATA as miniflare binds it from wrangler.toml
    const event = (await local.received())[0]!.items[0]!.payload as unknown as SentryEvent;
    expect(env.CF_VERSION_METADATA.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.tags.cf_version_id).toBe(env.CF_VERSION_METADATA.id);
    expect(event.release).toBe(`app-ubr@${env.APP_VERSION}`);
  });

  it('carries no credential, cookie, IP address or query value of the request', async () => {
    const sentry = sentryProject();
    await failingRequest({ SENTRY_DSN: sentry.dsn });
    const [envelope] = await sentry.received();
    const event = envelope!.items[0]!.payload as unknown as SentryEvent;
    expect(event.request).toEqual({
      method: 'GET',
      url: 'http://127.0.0.1:8787/.well-known/jwks.json',
      query_string: 'access_token=[Filtered]&debug=[Filtered]',
      headers: { 'user-agent': 'app-ubr-test/1.0' },
    });
    for (const secret of Object.values(secrets)) expect(envelope!.raw).not.toContain(secret);
    expect(envelope!.raw).not.toMatch(/authorization|cookie|x-api-key|cf-connecting-ip|not json/i);
  });

  it('sends nothing for expected client errors (404, 401)', async () => {
    const sentry = sentryProject();
    const notFound = await callWithEnv({ SENTRY_DSN: sentry.dsn }, '/api/v1/nope');
    expect(notFound.status).toBe(404);
    const unauthenticated = await callWithEnv({ SENTRY_DSN: sentry.dsn }, '/api/v1/users/me');
    expect(unauthenticated.status).toBe(401);
    expect(await sentry.received()).toEqual([]);
  });
});
