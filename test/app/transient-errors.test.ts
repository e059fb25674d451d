import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshIp, registerUser } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';
import { resetAlertThrottle } from '../../src/lib/observability';

interface Envelope {
  error: { code: string; message: string; requestId: string };
}

const NETWORK_LOST = 'D1_ERROR: Network connection lost.';

/** A D1 binding that is down: every statement and every batch fails with `message`. */
function downDb(message: string): D1Database {
  const fail = async (): Promise<never> => {
    throw new Error(message);
  };
  const stmt: Record<string, unknown> = { first: fail, all: fail, run: fail, raw: fail };
  stmt.bind = () => stmt;
  const db: Record<string, unknown> = { prepare: () => stmt, batch: fail, exec: fail, dump: fail, getBookmark: () => null };
  // /api requests read through a D1 session (read replication): the session is as down as the database.
  db.withSession = () => db;
  return db as unknown as D1Database;
}

/** The real AUTH_DB, except that `batch` fails before anything is written. */
function batchFailingDb(message: string): D1Database {
  const real = env.AUTH_DB;
  const db: Record<string, unknown> = {
    prepare: (query: string) => real.prepare(query),
    exec: (query: string) => real.exec(query),
    batch: async () => {
      throw new Error(message);
    },
    getBookmark: () => null,
  };
  db.withSession = () => db;
  return db as unknown as D1Database;
}

async function expectEnvelope(res: Response, status: number, code: string): Promise<Envelope> {
  expect(res.status).toBe(status);
  const text = await res.text();
  const body = JSON.parse(text) as Envelope;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBe(res.headers.get('X-Request-Id'));
  // The request id is hex and may well contain "d1": check everything but it.
  expect(text.replace(body.error.requestId, '')).not.toMatch(/D1|Network|connection|SQL|Failed query|params|\.ts:\d+/i);
  return body;
}

const newAccount = () => ({
  email: `transient-${crypto.randomUUID().slice(0, 8)}@example.com`,
  password: 'a perfectly fine password',
  fullName: `Transient ${crypto.randomUUID()}`,
});

async function userCount(email: string): Promise<number> {
  return (await env.AUTH_DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind(email).first<number>('n')) ?? -1;
}

async function profileCount(fullName: string): Promise<number> {
  return (await env.APP_DB.prepare('SELECT count(*) AS n FROM profiles WHERE full_name = ?').bind(fullName).first<number>('n')) ?? -1;
}

let fetches: string[];

beforeEach(() => {
  resetAlertThrottle();
  fetches = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    fetches.push(String(input instanceof Request ? input.url : input));
    return new Response('{}', { status: 200 });
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const sinks = { SENTRY_DSN: 'https://pubkey@sentry.example.com/7', ALERT_WEBHOOK_URL: 'https://hooks.example.com/alert' };

describe('transient storage failures', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when every AUTH_DB statement fails', async () => {
    const warn = vi.spyOn(console, 'warn');
    const account = newAccount();
    const res = await callWithEnv({ ...sinks, AUTH_DB: downDb(NETWORK_LOST) }, '/api/v1/auth/register', { body: account, ip: freshIp() });
    const body = await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
    expect(body.error.message).toBe('Service temporarily unavailable');
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    // Logged as a warning with the statement that failed, and nobody is paged for it.
    const lines = warn.mock.calls.map((args) => String(args[0]));
    expect(lines.some((l) => l.includes('storage unavailable') && l.includes('select users'))).toBe(true);
    expect(lines.join('\n')).not.toContain(account.email);
    expect(fetches.filter((url) => url.includes('sentry.example.com') || url.includes('hooks.example.com'))).toEqual([]);
    expect(await profileCount(account.fullName)).toBe(0);
  });

  it("answers 503 when a signed-in request's AUTH_DB read hits a raw D1 failure", async () => {
    const user = await registerUser();
    // The session check itself is the UserState object's (its own binding); the session list
    // reads AUTH_DB in the Worker.
    const res = await callWithEnv({ AUTH_DB: downDb('D1_ERROR: D1 DB is overloaded. Too many requests queued.') }, '/api/v1/auth/sessions', { token: user.accessToken });
    await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.headers.get('Retry-After')).not.toBeNull();
  });

  it('answers 503 and leaves nothing half-written when the AUTH_DB batch of a registration fails', async () => {
    const account = newAccount();
    const res = await callWithEnv({ AUTH_DB: batchFailingDb(NETWORK_LOST) }, '/api/v1/auth/register', { body: account, ip: freshIp() });
    await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.headers.get('Retry-After')).not.toBeNull();
    // APP_DB took the profile first; the failed batch must have taken it back out.
    expect(await userCount(account.email)).toBe(0);
    expect(await profileCount(account.fullName)).toBe(0);
    // The client's retry, once storage is back, succeeds with the same data.
    const retry = await callWithEnv({}, '/api/v1/auth/register', { body: account, ip: freshIp() });
    expect(retry.status).toBe(201);
    expect(await userCount(account.email)).toBe(1);
    expect(await profileCount(account.fullName)).toBe(1);
  });

  it('still answers a generic 500 INTERNAL_ERROR, and reports it, for a storage error that a retry cannot fix', async () => {
    for (const message of ['D1_ERROR: Memory limit would be exceeded by this operation.', 'D1_ERROR: no such table: users: SQLITE_ERROR']) {
      resetAlertThrottle();
      fetches = [];
      const res = await callWithEnv({ ...sinks, AUTH_DB: downDb(message) }, '/api/v1/auth/register', { body: newAccount(), ip: freshIp() });
      const body = await expectEnvelope(res, 500, 'INTERNAL_ERROR');
      expect(body.error.message).toBe('Internal server error');
      expect(res.headers.get('Retry-After')).toBeNull();
      expect(fetches.filter((url) => url.includes('sentry.example.com'))).toHaveLength(1);
      expect(fetches.filter((url) => url.includes('hooks.example.com'))).toHaveLength(1);
    }
  });
});
