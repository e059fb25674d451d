import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { matchExpression } from '../../../src/features/search/search.service';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';

interface Hit {
  type: string;
  id: string;
  title: string;
  subtitle: string;
  score: number;
}
type Page = { data: Hit[]; nextCursor: string | null };

const tag = () => `zq${crypto.randomUUID().replace(/-/g, '').slice(0, 8)}`;

async function search(token: string, query: string): Promise<Response> {
  return call(`/api/v1/search?${query}`, { token, ip: freshIp() });
}

/** The index follows the audit queue: wait until a query returns what the test expects. */
async function eventually(token: string, query: string, ok: (p: Page) => boolean): Promise<Page> {
  const deadline = Date.now() + 8000;
  let page: Page = { data: [], nextCursor: null };
  while (Date.now() < deadline) {
    const res = await search(token, query);
    expect(res.status).toBe(200);
    page = await json<Page>(res);
    if (ok(page)) return page;
    await new Promise((r) => setTimeout(r, 100));
  }
  return page;
}

describe('GET /api/v1/search (users index, FTS5 in SEARCH_DB)', () => {
  it('finds users by name prefix, by several words and by email, best match first', async () => {
    const admin = await registerAdmin();
    const t = tag();
    const alice = await registerUser({ fullName: `Alice ${t} Zephyrine`, email: `alice.${t}@example.com` });
    const other = await registerUser({ fullName: 'Somebody Else', email: `contact.${t}@example.org` });
    const byName = await eventually(admin.accessToken, `q=${t.slice(0, 6)}`, (p) => p.data.length >= 2);
    const ids = byName.data.map((h) => h.id);
    expect(ids).toEqual(expect.arrayContaining([alice.user.id, other.user.id]));
    // The name (title) weighs more than the email (body): Alice's name holds the word.
    expect(ids[0]).toBe(alice.user.id);
    expect(byName.data[0]).toMatchObject({ type: 'users', title: `Alice ${t} Zephyrine`, subtitle: `alice.${t}@example.com` });

    const multi = await json<Page>(await search(admin.accessToken, `q=${encodeURIComponent(`zephyr ${t}`)}`));
    expect(multi.data.map((h) => h.id)).toEqual([alice.user.id]);
    const byEmail = await json<Page>(await search(admin.accessToken, `q=${encodeURIComponent(`contact.${t}@exa`)}&type=users`));
    expect(byEmail.data.map((h) => h.id)).toEqual([other.user.id]);
  });

  it('follows renames and deletions, and pages with a cursor', async () => {
    const admin = await registerAdmin();
    const t = tag();
    const u = await registerUser({ fullName: `Before ${t}` });
    await registerUser({ fullName: `Second ${t}` });
    await eventually(admin.accessToken, `q=${t}`, (p) => p.data.length === 2);
    const first = await json<Page>(await search(admin.accessToken, `q=${t}&limit=1`));
    expect(first.data).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = await json<Page>(await search(admin.accessToken, `q=${t}&limit=1&cursor=${first.nextCursor}`));
    expect(second.data).toHaveLength(1);
    expect(second.data[0]!.id).not.toBe(first.data[0]!.id);
    expect(second.nextCursor).toBeNull();

    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'PATCH', token: admin.accessToken, body: { fullName: `After ${t}` } })).status).toBe(200);
    const renamed = await eventually(admin.accessToken, `q=after+${t}`, (p) => p.data.length === 1);
    expect(renamed.data[0]).toMatchObject({ id: u.user.id, title: `After ${t}` });

    expect((await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    const gone = await eventually(admin.accessToken, `q=${t}`, (p) => p.data.length === 1);
    expect(gone.data.map((h) => h.id)).not.toContain(u.user.id);
    expect((await call(`/api/v1/users/${u.user.id}/restore`, { method: 'POST', token: admin.accessToken })).status).toBe(200);
    const back = await eventually(admin.accessToken, `q=${t}`, (p) => p.data.length === 2);
    expect(back.data.map((h) => h.id)).toContain(u.user.id);
  });

  it('shows nothing to a caller without users:read, and refuses bad queries with 400, never 500', async () => {
    const user = await registerUser();
    const denied = await search(user.accessToken, 'q=alice');
    expect(denied.status).toBe(403);
    expect(await errorCode(denied)).toBe('FORBIDDEN');
    expect((await call('/api/v1/search?q=alice')).status).toBe(401);

    const admin = await registerAdmin();
    for (const q of ['"', '""', '()', '*', '-', '^', ':']) {
      const res = await search(admin.accessToken, `q=${encodeURIComponent(q)}`);
      expect(res.status, q).toBe(400);
      expect(await errorCode(res)).toBe('VALIDATION_ERROR');
    }
    // FTS5 operators are plain words here: no syntax error, no 500.
    for (const q of ['NEAR(a b', 'a AND OR NOT', 'title:x', '"unbalanced', 'x* OR (y', "'; DROP TABLE search_index; --"]) {
      expect((await search(admin.accessToken, `q=${encodeURIComponent(q)}`)).status, q).toBe(200);
    }
    expect((await search(admin.accessToken, 'q=a&type=nope')).status).toBe(400);
    expect((await search(admin.accessToken, '')).status).toBe(400);
    expect((await search(admin.accessToken, `q=${'a'.repeat(201)}`)).status).toBe(400);
    const limited = await search(admin.accessToken, 'q=alice');
    expect(limited.headers.get('RateLimit-Limit')).toBe('100');
    // The index lives in its own database (d1 export refuses databases with FTS5 tables).
    const tables = await env.SEARCH_DB.prepare("SELECT name FROM sqlite_master WHERE name = 'search_index'").all();
    expect(tables.results).toHaveLength(1);
  });

  it('quotes every word as a prefix term', () => {
    expect(matchExpression('Alice  zeph')).toBe('"Alice"* "zeph"*');
    expect(matchExpression('a"b')).toBe('"a"* "b"*');
    expect(matchExpression('¿?!')).toBeNull();
  });
});
