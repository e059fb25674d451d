import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { count, DAY, runAt, seedUser } from './cron-helpers';

const DAILY = '17 3 * * *';

async function seedFamily(userId: number, a: { expiresAt: number; revokedAt: number | null; codeExpiresAt: number }) {
  const id = crypto.randomUUID();
  const client = await env.AUTH_DB.prepare(
    "INSERT INTO oauth_clients (public_id, created_at, updated_at, name, type, redirect_uris, scopes) VALUES (?1, 0, 0, 'c', 'public', '[]', '[]') RETURNING id",
  )
    .bind(crypto.randomUUID())
    .first<number>('id');
  const grant = await env.AUTH_DB.prepare("INSERT INTO oauth_grants (public_id, created_at, updated_at, user_id, client_id, scopes) VALUES (?1, 0, 0, ?2, ?3, '[]') RETURNING id")
    .bind(crypto.randomUUID(), userId, client)
    .first<number>('id');
  const code = await env.AUTH_DB.prepare("INSERT INTO oauth_codes (public_id, created_at, updated_at, code_hash, grant_id, redirect_uri, code_challenge, scopes, expires_at) VALUES (?1, 0, 0, ?2, ?3, 'x', 'x', '[]', ?4) RETURNING id")
    .bind(crypto.randomUUID(), crypto.randomUUID(), grant, a.codeExpiresAt)
    .first<number>('id');
  const family = await env.AUTH_DB.prepare(
    "INSERT INTO oauth_token_families (public_id, created_at, updated_at, grant_id, code_id, scopes, refresh_hash, expires_at, revoked_at) VALUES (?1, 0, 0, ?2, ?3, '[]', ?4, ?5, ?6) RETURNING id",
  )
    .bind(id, grant, code, crypto.randomUUID(), a.expiresAt, a.revokedAt)
    .first<number>('id');
  await env.AUTH_DB.prepare('INSERT INTO oauth_spent_refresh_tokens (public_id, created_at, updated_at, family_id, token_hash) VALUES (?1, 0, 0, ?2, ?3)').bind(crypto.randomUUID(), family, crypto.randomUUID()).run();
  return id;
}

describe('cron: OAuth cleanup', () => {
  it('deletes codes and families dead for more than a day, with their spent tokens, and keeps live and recent ones', async () => {
    const now = Date.now();
    const user = await seedUser();
    const dead = await seedFamily(user.id, { expiresAt: now - 2 * DAY, revokedAt: null, codeExpiresAt: now - 2 * DAY });
    const revoked = await seedFamily(user.id, { expiresAt: now + DAY, revokedAt: now - 2 * DAY, codeExpiresAt: now - 2 * DAY });
    const recent = await seedFamily(user.id, { expiresAt: now + DAY, revokedAt: now - 1000, codeExpiresAt: now - 1000 });
    const live = await seedFamily(user.id, { expiresAt: now + DAY, revokedAt: null, codeExpiresAt: now + 60_000 });
    const { oauth } = await runAt(DAILY, now);
    expect(oauth!.done).toBe(true);
    const families = async (id: string) => count(env.AUTH_DB, 'SELECT count(*) AS n FROM oauth_token_families WHERE public_id = ?1', id);
    expect([await families(dead), await families(revoked), await families(recent), await families(live)]).toEqual([0, 0, 1, 1]);
    const spent = (id: string) => count(env.AUTH_DB, 'SELECT count(*) AS n FROM oauth_spent_refresh_tokens s JOIN oauth_token_families f ON f.id = s.family_id WHERE f.public_id = ?1', id);
    expect([await spent(recent), await spent(live)]).toEqual([1, 1]);
    expect(oauth!.details).toMatchObject({ families: 2 });
  });
});
