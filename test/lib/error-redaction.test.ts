import { env } from 'cloudflare:workers';
import { drizzle } from 'drizzle-orm/d1';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { statementName } from '../../src/db/errors';
import * as authSchema from '../../src/db/schema/auth';
import { describeError, redactErrorText, reportError, resetAlertThrottle } from '../../src/lib/observability';
import { freshIp } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';

const sinks = { SENTRY_DSN: 'https://pubkey@sentry.example.com/7', ALERT_WEBHOOK_URL: 'https://hooks.example.com/alert' };

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A statement that really fails in D1 (UNIQUE on users.email) through drizzle, with an email and
 * a token hash among its bound values: drizzle puts both into the error's message.
 */
async function realFailingInsert(): Promise<{ err: Error; email: string; hash: string }> {
  const email = `pii-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const hash = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', crypto.getRandomValues(new Uint8Array(32)))));
  const db = drizzle(env.AUTH_DB, { schema: authSchema, casing: 'snake_case' });
  await db.insert(authSchema.users).values({ email, passwordHash: 'first' }).run();
  const err = await db
    .insert(authSchema.users)
    .values({ email, passwordHash: hash })
    .run()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if (!(err instanceof Error)) throw new Error('the conflicting insert did not fail');
  return { err, email, hash };
}

/** Everything the process wrote to the console, and every body it sent out. */
function capture(): { output: () => string; sent: () => { url: string; body: string }[] } {
  const lines: string[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
  }
  const calls: { url: string; body: string }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    calls.push({ url: String(input instanceof Request ? input.url : input), body: String(init?.body) });
    return new Response('{}', { status: 200 });
  });
  return { output: () => lines.join('\n'), sent: () => calls };
}

function expectNoPii(text: string, secrets: string[]): void {
  for (const s of secrets) {
    expect(text).not.toContain(s);
    expect(text).not.toContain(s.split('@')[0]!);
  }
  expect(text).not.toMatch(/Failed query|params:|values \((?:null|\?)/i);
}

beforeEach(() => resetAlertThrottle());
afterEach(() => vi.restoreAllMocks());

describe('error descriptions', () => {
  it('names a statement by its keyword and table, never its values', () => {
    expect(statementName('insert into "users" ("id", "email") values (null, ?)')).toBe('insert users');
    expect(statementName('insert or ignore into `audit_events` select * from "x"')).toBe('insert audit_events');
    expect(statementName('update "sessions" set "revoked_at" = ? where "sessions"."id" = ?')).toBe('update sessions');
    expect(statementName('delete from "profiles" where "profiles"."user_public_id" = ?')).toBe('delete profiles');
    expect(statementName('select "id", (SELECT group_concat(r.name) FROM "user_roles" ur) from "users" where "users"."email" = ?')).toBe('select users');
    expect(statementName("select * from users where email = 'alice@example.com'")).toBe('select users');
    expect(statementName('with t as (select 1) select * from t')).toBe('with');
    expect(statementName('alice@example.com is not sql')).toBeUndefined();
  });

  it('keeps the D1 code and reason and cuts quoted values, emails and token-like strings', () => {
    expect(redactErrorText('D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT_UNIQUE')).toBe('D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT_UNIQUE');
    expect(redactErrorText("D1_TYPE_ERROR: Type 'object' not supported for value 'bob@example.com'")).toBe("D1_TYPE_ERROR: Type '?' not supported for value '?'");
    expect(redactErrorText('D1_ERROR: near "bob@example.com": syntax error')).toBe('D1_ERROR: near "?": syntax error');
    const token = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const text = redactErrorText(`lookup failed for carol@example.com with ${token}\nparams: carol@example.com`);
    expect(text).not.toMatch(/carol|example\.com|a1b2c3|params/);
    expect(text).toContain('lookup failed for');
  });

  it('keeps stack frames but not a multi-line message that looks like frames', () => {
    const err = new Error('Failed to save\n    at dave@example.com (injected:1:1)');
    const d = describeError(err);
    expect(d.message).toBe('Failed to save');
    expect(d.stack).toMatch(/^\s*at\s/);
    expect(JSON.stringify(d)).not.toContain('dave');
  });

  it('describes a real drizzle failure by class, D1 code and statement, without its params', async () => {
    const { err, email, hash } = await realFailingInsert();
    // The raw error really carries both: the assertions below would catch a leak.
    expect(`${err.message} ${err.stack}`).toContain(email);
    expect(err.message).toContain(hash);
    const d = describeError(err);
    expect(d).toMatchObject({ type: 'DrizzleQueryError', statement: 'insert users' });
    expect(d.code).toMatch(/^D1_ERROR SQLITE_CONSTRAINT/);
    expect(d.message).toMatch(/UNIQUE constraint failed: users\.email/);
    expect(d.stack?.split('\n').every((line) => /^\s*at\s/.test(line))).toBe(true);
    expectNoPii(JSON.stringify(d), [email, hash]);
  });

  it('sends Sentry and the alert webhook the description, never the params', async () => {
    const { err, email, hash } = await realFailingInsert();
    const { output, sent } = capture();
    await reportError(sinks, { requestId: 'req-pii', route: '/api/v1/auth/register', method: 'POST', error: err, environment: 'test' });
    const sentry = sent().find((c) => c.url === 'https://sentry.example.com/api/7/envelope/');
    const alert = sent().find((c) => c.url === 'https://hooks.example.com/alert');
    expect(sentry && alert).toBeTruthy();
    const event = JSON.parse(sentry!.body.trim().split('\n')[2]!) as {
      tags: Record<string, string>;
      exception: { values: { type: string; value: string; stacktrace?: { frames: { function: string }[] } }[] };
    };
    expect(event.exception.values[0]).toMatchObject({ type: 'DrizzleQueryError', value: expect.stringContaining('insert users') });
    expect(event.exception.values[0]!.stacktrace!.frames.length).toBeGreaterThan(0);
    expect(event.tags).toMatchObject({ statement: 'insert users', dbCode: expect.stringContaining('D1_ERROR') });
    expect(alert!.body).toContain('DrizzleQueryError (insert users)');
    expectNoPii(`${sentry!.body}\n${alert!.body}\n${output()}`, [email, hash]);
  });

  it('keeps the params out of the log line, the alert and Sentry for a failure inside a request', async () => {
    const { err, email, hash } = await realFailingInsert();
    // AUTH_DB whose statements fail with that real error: drizzle wraps it once more, with the
    // registration's own bound email, so two layers of params have to stay out.
    const stmt: Record<string, unknown> = {};
    for (const m of ['first', 'all', 'run', 'raw']) stmt[m] = () => Promise.reject(err);
    stmt.bind = () => stmt;
    const fake: Record<string, unknown> = { prepare: () => stmt, batch: () => Promise.reject(err), getBookmark: () => null };
    fake.withSession = () => fake; // /api requests read through a D1 session
    const failing = fake as unknown as D1Database;
    const registering = `reg-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const { output, sent } = capture();
    const res = await callWithEnv({ ...sinks, AUTH_DB: failing }, '/api/v1/auth/register', {
      body: { email: registering, password: 'a perfectly fine password', fullName: 'Private Person' },
      ip: freshIp(),
    });
    expect(res.status).toBe(500);
    const logs = output();
    const unhandled = logs.split('\n').find((l) => l.includes('unhandled error'));
    expect(unhandled).toBeDefined();
    expect(JSON.parse(unhandled!)).toMatchObject({ level: 'error', error: expect.stringContaining('DrizzleQueryError (select users)'), statement: 'select users' });
    const bodies = sent().filter((c) => c.url.includes('sentry.example.com') || c.url.includes('hooks.example.com'));
    expect(bodies).toHaveLength(2);
    for (const b of bodies) expect(b.body).toContain('DrizzleQueryError');
    expectNoPii(`${logs}\n${bodies.map((b) => b.body).join('\n')}\n${await res.text()}`, [email, hash, registering, 'Private Person']);
  });
});
