import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../src/lib/pagination';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';

interface UserPage {
  data: { id: string; email: string; roles: string[]; deletedAt?: string | null }[];
  nextCursor: string | null;
}

async function page(token: string, query: string): Promise<UserPage> {
  const res = await call(`/api/v1/users?${query}`, { token });
  expect(res.status, query).toBe(200);
  return json<UserPage>(res);
}

describe('GET /users', () => {
  it('paginates newest first with a stable cursor while users are added', async () => {
    const admin = await registerAdmin();
    const tag = crypto.randomUUID().slice(0, 8);
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await registerUser({ email: `list-${tag}-${i}@example.com` })).user.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const p: UserPage = await page(admin.accessToken, `email=list-${tag}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.data.map((u) => u.id));
      cursor = p.nextCursor;
      if (round++ === 0) await registerUser({ email: `list-${tag}-late@example.com` }); // arrives mid-pagination
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
  });

  it('filters by email substring (literally, no wildcards), role, creation range and deleted state', async () => {
    const admin = await registerAdmin();
    const tag = crypto.randomUUID().slice(0, 8);
    const a = await registerUser({ email: `f-${tag}-a@example.com` });
    const b = await registerUser({ email: `f-${tag}-b@example.com` });
    expect((await page(admin.accessToken, `email=F-${tag}`)).data.map((u) => u.id).sort()).toEqual([a.user.id, b.user.id].sort());
    expect((await page(admin.accessToken, `email=${encodeURIComponent('%')}`)).data).toHaveLength(0);
    expect((await page(admin.accessToken, `role=admin&limit=100`)).data.every((u) => u.roles.includes('admin'))).toBe(true);
    await env.AUTH_DB.prepare('UPDATE users SET created_at = ?1 WHERE public_id = ?2').bind(Date.parse('2020-01-01T00:00:00Z'), a.user.id).run();
    expect((await page(admin.accessToken, `email=f-${tag}&createdTo=2021-01-01T00:00:00Z`)).data.map((u) => u.id)).toEqual([a.user.id]);
    expect((await page(admin.accessToken, `email=f-${tag}&createdFrom=2021-01-01T00:00:00Z`)).data.map((u) => u.id)).toEqual([b.user.id]);
    await call(`/api/v1/users/${b.user.id}`, { method: 'DELETE', token: admin.accessToken });
    expect((await page(admin.accessToken, `email=f-${tag}`)).data.map((u) => u.id)).toEqual([a.user.id]);
    const withDeleted = await page(admin.accessToken, `email=f-${tag}&includeDeleted=true`);
    expect(withDeleted.data.find((u) => u.id === b.user.id)?.deletedAt).toBeTruthy();
  });

  it('answers bad limits, cursors and filters with 400 (never 500) and clamps large limits', async () => {
    const admin = await registerAdmin();
    for (const q of ['limit=0', 'limit=-5', 'limit=ten', 'cursor=!!!', 'cursor=e30', `cursor=${encodeCursor({ id: 'x' } as never)}`, 'role=Admin!', 'createdFrom=soon', 'includeDeleted=yes', 'sort=email']) {
      const res = await call(`/api/v1/users?${q}`, { token: admin.accessToken });
      expect(res.status, q).toBe(400);
      expect(await errorCode(res)).toBe('VALIDATION_ERROR');
    }
    const big = await page(admin.accessToken, 'limit=5000');
    expect(big.data.length).toBeLessThanOrEqual(100);
  });
});
