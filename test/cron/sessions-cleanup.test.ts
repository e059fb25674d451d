import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { REVOKED_GRACE_MS, SESSIONS_CHUNK, SESSIONS_MAX_CHUNKS } from '../../src/cron/sessions.job';
import { call, json, registerUser, type TokenPair } from '../helpers/api';
import { count, DAY, runAt, seedSessions, seedUser, trigger } from './cron-helpers';

const FREQUENT = '*/5 * * * *';

async function refresh(refreshToken: string): Promise<TokenPair> {
  const res = await call('/api/v1/auth/refresh', { body: { refreshToken } });
  expect(res.status).toBe(200);
  return json<TokenPair>(res);
}

const sessionsWith = (tag: string) => count(env.AUTH_DB, `SELECT count(*) AS n FROM sessions WHERE public_id LIKE 'seed-' || ?1 || '-%'`, tag);

describe('cron: sessions and refresh-token families', () => {
  it('deletes expired, idle and long-revoked sessions with their spent tokens, and nothing live', async () => {
    const now = Date.now();
    const user = await seedUser();
    const expired = await seedSessions(user.id, 3, { expiresAt: now - 1000, lastUsedAt: now - 2 * DAY, spent: 2 });
    const idle = await seedSessions(user.id, 2, { expiresAt: now + 20 * DAY, lastUsedAt: now - 8 * DAY });
    const oldRevoked = await seedSessions(user.id, 2, { expiresAt: now + 20 * DAY, lastUsedAt: now - 60_000, revokedAt: now - REVOKED_GRACE_MS - 60_000 });
    const freshRevoked = await seedSessions(user.id, 2, { expiresAt: now + 20 * DAY, lastUsedAt: now - 60_000, revokedAt: now - 60_000 });
    const live = await seedSessions(user.id, 4, { expiresAt: now + 20 * DAY, lastUsedAt: now - 60_000, spent: 3 });

    const { sessions } = await runAt(FREQUENT, now);
    expect(sessions).toMatchObject({ done: true, details: { sessions: 7, spentRefreshTokens: 6 } });
    for (const tag of [expired, idle, oldRevoked]) expect(await sessionsWith(tag)).toBe(0);
    expect(await sessionsWith(freshRevoked)).toBe(2);
    expect(await sessionsWith(live)).toBe(4);
    expect(await count(env.AUTH_DB, `SELECT count(*) AS n FROM spent_refresh_tokens st JOIN sessions s ON s.id = st.session_id WHERE s.public_id LIKE 'seed-' || ?1 || '-%'`, live)).toBe(12);

    // Idempotent: a second run finds nothing.
    expect((await runAt(FREQUENT, now)).sessions).toMatchObject({ affected: 0, done: true });
  });

  it(`cleans 50,000 expired sessions in bounded chunks (≤ ${SESSIONS_CHUNK * SESSIONS_MAX_CHUNKS} per run) while live sessions keep refreshing`, async () => {
    const now = Date.now();
    const seeded = await seedUser();
    const tag = await seedSessions(seeded.id, 50_000, { expiresAt: now - DAY, lastUsedAt: now - 2 * DAY, spent: 0 });
    await env.AUTH_DB.prepare(
      `INSERT INTO spent_refresh_tokens (public_id, created_at, updated_at, session_id, token_hash)
       SELECT 'sp-' || id, 0, 0, id, 'sp-' || id FROM sessions WHERE public_id LIKE 'seed-' || ?1 || '-%' AND id % 5 = 0`,
    )
      .bind(tag)
      .run();
    expect(await sessionsWith(tag)).toBe(50_000);
    const alive: TokenPair[] = await Promise.all([registerUser(), registerUser()]);

    let runs = 0;
    let deleted = 0;
    const started = performance.now();
    for (;;) {
      runs += 1;
      // Live traffic during the cleanup: each live session refreshes between runs.
      const [result] = await Promise.all([runAt(FREQUENT, Date.now()), ...alive.map(async (a, i) => (alive[i] = { ...a, ...(await refresh(a.refreshToken)) }))]);
      const r = result.sessions!;
      expect(r.details!.sessions!).toBeLessThanOrEqual(SESSIONS_CHUNK * SESSIONS_MAX_CHUNKS);
      expect(r.chunks).toBeLessThanOrEqual(2 * SESSIONS_MAX_CHUNKS);
      deleted += r.details!.sessions!;
      if (r.done || runs > 10) break;
    }
    const ms = performance.now() - started;
    console.log(JSON.stringify({ bench: 'sessions cleanup', rows: 50_000, spent: 10_000, runs, ms: Math.round(ms) }));
    expect(deleted).toBe(50_000);
    expect(runs).toBe(6);
    expect(await sessionsWith(tag)).toBe(0);
    expect(await count(env.AUTH_DB, `SELECT count(*) AS n FROM spent_refresh_tokens WHERE public_id LIKE 'sp-%'`)).toBe(0);
    for (const a of alive) {
      const me = await call('/api/v1/users/me', { token: a.accessToken });
      expect(me.status).toBe(200);
    }
  });

  it('runs through the Worker scheduled handler on the 5-minute trigger', async () => {
    const now = Date.now();
    const user = await seedUser();
    const tag = await seedSessions(user.id, 5, { expiresAt: now - 1000, lastUsedAt: now - DAY });
    await trigger(FREQUENT, now);
    expect(await sessionsWith(tag)).toBe(0);
  });
});
