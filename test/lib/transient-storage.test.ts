import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { isTransientStorageError } from '../../src/db/transient';

// The "Retry the operation" and overload rows of developers.cloudflare.com/d1/observability/debug-d1,
// and the Durable Object infrastructure errors behind D1.
const TRANSIENT = [
  'D1_ERROR: D1 DB reset because its code was updated.',
  'D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.',
  'D1_ERROR: Network connection lost.',
  'D1_ERROR: Internal error in D1 DB storage caused object to be reset.',
  'D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.',
  "D1_ERROR: Can't read from request stream because client disconnected.",
  'D1_ERROR: D1 DB is overloaded. Requests queued for too long.',
  'D1_ERROR: D1 DB is overloaded. Too many requests queued.',
  'Network connection lost.',
  'Durable Object is overloaded. Too many requests queued.',
  'Durable Object reset because its code was updated.',
  'D1_ERROR: Something went wrong, please retry.',
  'D1_ERROR: Temporarily unavailable, try again later.',
];

// A retry of the same query fails the same way: these stay a 500 (and page someone).
const PERMANENT = [
  'D1_ERROR: Memory limit would be exceeded by this operation.',
  "D1_ERROR: D1 DB's isolate exceeded its memory limit and was reset.",
  'D1_ERROR: D1 DB exceeded its CPU time limit and was reset.',
  'D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.',
  'D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT',
  'D1_ERROR: no such table: users: SQLITE_ERROR',
  'D1_TYPE_ERROR: Type object not supported for value [object Object]',
  'Cannot read properties of undefined (reading "id")',
];

const wrapped = (cause: Error, params: unknown[] = ['a@example.com']) => new DrizzleQueryError('select "id" from "users" where "users"."email" = ?', params, cause);

describe('isTransientStorageError', () => {
  it.each(TRANSIENT)('treats %s as transient, bare and wrapped by drizzle', (message) => {
    expect(isTransientStorageError(new Error(message))).toBe(true);
    expect(isTransientStorageError(wrapped(new Error(message)))).toBe(true);
    expect(isTransientStorageError(new Error('outer', { cause: wrapped(new Error(message)) }))).toBe(true);
  });

  it.each(PERMANENT)('treats %s as a real failure', (message) => {
    expect(isTransientStorageError(new Error(message))).toBe(false);
    expect(isTransientStorageError(wrapped(new Error(message)))).toBe(false);
  });

  it('is not fooled by user input in the bound values of a failed statement', () => {
    const err = wrapped(new Error('D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT'), ['Network connection lost', 'D1 DB is overloaded']);
    expect(err.message).toContain('Network connection lost');
    expect(isTransientStorageError(err)).toBe(false);
  });

  it('follows the runtime flags of Durable Object infrastructure errors, not those of user code', () => {
    expect(isTransientStorageError(Object.assign(new Error('internal error'), { retryable: true }))).toBe(true);
    expect(isTransientStorageError(Object.assign(new Error('busy'), { overloaded: true }))).toBe(true);
    expect(isTransientStorageError(Object.assign(new Error('thrown by the object'), { retryable: true, remote: true }))).toBe(false);
    expect(isTransientStorageError(Object.assign(new Error('internal error'), { retryable: false }))).toBe(false);
  });

  it('answers false for non-errors and terminates on a cause cycle', () => {
    for (const value of [undefined, null, 'Network connection lost', 42, {}]) expect(isTransientStorageError(value)).toBe(false);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransientStorageError(a)).toBe(false);
  });
});
