import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { me } from '../../helpers/users';
import { callWithEnv } from '../../helpers/tokens';

interface Pair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  deviceToken?: string;
}

const refresh = (refreshToken: string, deviceToken?: string) => call('/api/v1/auth/refresh', { body: { refreshToken, ...(deviceToken ? { deviceToken } : {}) }, ip: freshIp() });

async function session(refreshToken: string) {
  const sid = refreshToken.split('.')[0]!;
  return env.AUTH_DB.prepare('SELECT id, generation, revoked_at, revoked_reason, refresh_hash FROM sessions WHERE public_id = ?')
    .bind(sid)
    .first<{ id: number; generation: number; revoked_at: number | null; revoked_reason: string | null; refresh_hash: string }>();
}

async function spentCount(sessionId: number) {
  return (await env.AUTH_DB.prepare('SELECT count(*) AS n FROM spent_refresh_tokens WHERE session_id = ?').bind(sessionId).first<{ n: number }>())?.n;
}

async function auditActions(targetId: string) {
  const rows = await env.LOGS_DB.prepare("SELECT action FROM audit_logs WHERE target_id = ? AND action LIKE 'auth.refresh%'").bind(targetId).all<{ action: string }>();
  return rows.results.map((r) => r.action);
}

type Registered = Awaited<ReturnType<typeof registerUser>> & { deviceToken: string };

describe('refresh retries bound to the device', () => {
  it('answers a retry of the spent token, with the device token, with the very same pair; one rotation recorded', async () => {
    const u = (await registerUser()) as Registered;
    const first = await refresh(u.refreshToken, u.deviceToken);
    expect(first.status).toBe(200);
    const pair = await json<Pair>(first);
    const retry = await refresh(u.refreshToken, u.deviceToken);
    expect(retry.status).toBe(200);
    const again = await json<Pair>(retry);
    expect(again.refreshToken).toBe(pair.refreshToken);
    expect(again.accessToken).toBe(pair.accessToken);
    const row = await session(u.refreshToken);
    expect(row).toMatchObject({ generation: 1, revoked_at: null });
    expect(await spentCount(row!.id)).toBe(1);
    expect((await me(again.accessToken)).status).toBe(200);
    // The child works as usual afterwards.
    expect((await refresh(again.refreshToken, u.deviceToken)).status).toBe(200);
    await vi.waitFor(async () => expect(await auditActions(u.user.id)).toContain('auth.refresh_retry'), { timeout: 8000 });
    expect(await auditActions(u.user.id)).not.toContain('auth.refresh_reuse');
  });

  it('gives N parallel refreshes of one token (two tabs, a lost response) one pair', async () => {
    const u = (await registerUser()) as Registered;
    const responses = await Promise.all(Array.from({ length: 8 }, () => refresh(u.refreshToken, u.deviceToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const pairs = await Promise.all(responses.map((r) => json<Pair>(r)));
    expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(1);
    expect(new Set(pairs.map((p) => p.accessToken)).size).toBe(1);
    const row = await session(u.refreshToken);
    expect(row?.generation).toBe(1);
    expect(await spentCount(row!.id)).toBe(1);
  });

  it('still revokes the family on reuse without the device token (the strict rule)', async () => {
    const u = (await registerUser()) as Registered;
    expect((await refresh(u.refreshToken, u.deviceToken)).status).toBe(200);
    const stolen = await refresh(u.refreshToken);
    expect(stolen.status).toBe(401);
    expect(await session(u.refreshToken)).toMatchObject({ revoked_reason: 'refresh_reuse' });
    expect((await me(u.accessToken)).status).toBe(401);
  });

  it("revokes the family when a replay within the window carries another device's token", async () => {
    const u = (await registerUser()) as Registered;
    const otherDevice = await json<Pair>(await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() }));
    expect(otherDevice.deviceToken).toBeTruthy();
    expect((await refresh(u.refreshToken, u.deviceToken)).status).toBe(200);
    const replay = await refresh(u.refreshToken, otherDevice.deviceToken);
    expect(replay.status).toBe(401);
    expect(await session(u.refreshToken)).toMatchObject({ revoked_reason: 'refresh_reuse' });
    // Another user's device token does not help either.
    const v = (await registerUser()) as Registered;
    expect((await refresh(v.refreshToken, v.deviceToken)).status).toBe(200);
    expect((await refresh(v.refreshToken, u.deviceToken)).status).toBe(401);
    expect(await session(v.refreshToken)).toMatchObject({ revoked_reason: 'refresh_reuse' });
  });

  it('revokes the family after the window, and when the child was already rotated further', async () => {
    const u = (await registerUser()) as Registered;
    expect((await refresh(u.refreshToken, u.deviceToken)).status).toBe(200);
    const row = await session(u.refreshToken);
    await env.AUTH_DB.prepare('UPDATE spent_refresh_tokens SET created_at = created_at - 11000 WHERE session_id = ?').bind(row!.id).run();
    expect((await refresh(u.refreshToken, u.deviceToken)).status).toBe(401);
    expect(await session(u.refreshToken)).toMatchObject({ revoked_reason: 'refresh_reuse' });

    const w = (await registerUser()) as Registered;
    const child = await json<Pair>(await refresh(w.refreshToken, w.deviceToken));
    expect((await refresh(child.refreshToken, w.deviceToken)).status).toBe(200);
    // The grandparent comes back: not a lost response but a replay.
    expect((await refresh(w.refreshToken, w.deviceToken)).status).toBe(401);
    expect(await session(w.refreshToken)).toMatchObject({ revoked_reason: 'refresh_reuse' });
  });

  it('turns the window off with REFRESH_REUSE_INTERVAL=0', async () => {
    const u = (await registerUser()) as Registered;
    const overrides = { REFRESH_REUSE_INTERVAL: '0' };
    const body = { refreshToken: u.refreshToken, deviceToken: u.deviceToken };
    expect((await callWithEnv(overrides, '/api/v1/auth/refresh', { body, ip: freshIp() })).status).toBe(200);
    expect((await callWithEnv(overrides, '/api/v1/auth/refresh', { body, ip: freshIp() })).status).toBe(401);
  });

  it('never stores the child refresh token, only hashes', async () => {
    const u = (await registerUser()) as Registered;
    const pair = await json<Pair>(await refresh(u.refreshToken, u.deviceToken));
    const secret = pair.refreshToken.split('.')[1]!;
    const dump = await env.AUTH_DB.prepare('SELECT s.refresh_hash, t.token_hash FROM sessions s JOIN spent_refresh_tokens t ON t.session_id = s.id WHERE s.public_id = ?')
      .bind(pair.refreshToken.split('.')[0])
      .first<Record<string, string>>();
    expect(JSON.stringify(dump)).not.toContain(secret);
  });
});
