import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, call, json } from '../helpers/api';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  it('generates a UUIDv7 when the client sends none, on every response', async () => {
    for (const path of ['/api/v1/health', '/api/v1/nope', '/.well-known/jwks.json', '/docs']) {
      const res = await exports.default.fetch(`${BASE}${path}`);
      expect(res.headers.get('X-Request-Id'), path).toMatch(UUIDV7);
    }
  });

  it('generates a different id per request', async () => {
    const [a, b] = await Promise.all([call('/api/v1/health'), call('/api/v1/health')]);
    expect(a.headers.get('X-Request-Id')).not.toBe(b.headers.get('X-Request-Id'));
  });

  it.each(['abcdefgh', 'trace-1234.span:5678_x', '01a2020c-302f-70b5-9d43-e972d1fe198b', 'A'.repeat(128)])('accepts the well-formed client id %s', async (id) => {
    const res = await call('/api/v1/users/me', { headers: { 'X-Request-Id': id } });
    expect(res.headers.get('X-Request-Id')).toBe(id);
    expect((await json<{ error: { requestId: string } }>(res)).error.requestId).toBe(id);
  });

  it.each([
    ['too short', 'abc1234'],
    ['too long', 'A'.repeat(129)],
    ['spaces', 'has some spaces'],
    ['markup', '<script>alert(1)</script>'],
    ['a quote and semicolon', 'abc";drop-table'],
    ['non-ASCII', 'ünïcødé-request-id'],
    ['a log-forging payload', 'ok12345\\n{"level":"error"}'],
    ['a slash path', '../../etc/passwd'],
  ])('replaces an id with %s', async (_name, id) => {
    const res = await call('/api/v1/users/me', { headers: { 'X-Request-Id': id } });
    const echoed = res.headers.get('X-Request-Id');
    expect(echoed).toMatch(UUIDV7);
    expect((await json<{ error: { requestId: string } }>(res)).error.requestId).toBe(echoed);
  });

  it('cannot carry a raw newline (the platform refuses it before the app sees it)', () => {
    expect(() => new Headers({ 'X-Request-Id': 'abcdefgh\r\nSet-Cookie: x=1' })).toThrow();
  });
});
