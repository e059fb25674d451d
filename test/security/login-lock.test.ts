import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LOCK_AFTER_FAILURES, LOCK_BASE_MS, LOCK_MAX_MS, lockDurationMs } from '../../src/features/auth/auth.service';
import { freshIp, json, registerUser } from '../helpers/api';
import { callWith, envWith, wrongLogin } from './rate-limit-helpers';

// The growing lock lives in auth.service (per account, in AUTH_DB); the auth-tier window
// (5/900) would stop these attempts first, so it is widened here to reach the lock itself.
const testEnv = envWith({ RATE_LIMIT_AUTH: '1000/900' });
const LOGIN = '/api/v1/auth/login';

const login = (body: unknown) => callWith(testEnv, LOGIN, { body, ip: freshIp() });

async function lockState(email: string) {
  return env.AUTH_DB.prepare('SELECT failed_login_count AS failures, login_locked_until AS lockedUntil FROM users WHERE email = ?')
    .bind(email)
    .first<{ failures: number; lockedUntil: number | null }>();
}

/** Status and body without the per-request id: what a client can compare. */
async function answer(res: Response) {
  const body = await json<{ error: { code: string; message: string; requestId?: string } }>(res);
  delete body.error.requestId;
  return { status: res.status, body };
}

describe('login lock after repeated failures', () => {
  it('grows from 30 s, doubling, and is capped at 15 min (never permanent)', () => {
    expect(LOCK_AFTER_FAILURES).toBe(5);
    expect(lockDurationMs(LOCK_AFTER_FAILURES - 1)).toBe(0);
    expect(lockDurationMs(5)).toBe(LOCK_BASE_MS);
    expect(lockDurationMs(6)).toBe(2 * LOCK_BASE_MS);
    expect(lockDurationMs(7)).toBe(4 * LOCK_BASE_MS);
    expect(lockDurationMs(10)).toBe(LOCK_MAX_MS);
    expect(lockDurationMs(10_000)).toBe(15 * 60_000);
  });

  it('locks after 5 wrong passwords and grows with each further failure', async () => {
    const user = await registerUser();
    for (let i = 0; i < 4; i += 1) expect((await login(wrongLogin(user.email))).status).toBe(401);
    expect((await lockState(user.email))?.lockedUntil).toBeNull();
    const windows: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const before = Date.now();
      await login(wrongLogin(user.email));
      windows.push((await lockState(user.email))!.lockedUntil! - before);
    }
    // ≈ 30 s, 60 s, 120 s (the few ms of request time are inside the tolerance).
    expect(windows.map((ms) => Math.round(ms / 1000))).toEqual([30, 60, 120]);
  });

  it('answers a correct password during the lock exactly like a wrong one', async () => {
    const user = await registerUser();
    for (let i = 0; i < LOCK_AFTER_FAILURES; i += 1) await login(wrongLogin(user.email));
    const correct = await answer(await login({ email: user.email, password: user.password }));
    const wrong = await answer(await login(wrongLogin(user.email)));
    const unknown = await answer(await login(wrongLogin(`nobody-${crypto.randomUUID()}@example.com`)));
    expect(correct).toEqual({ status: 401, body: { error: { code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' } } });
    expect(wrong).toEqual(correct);
    expect(unknown).toEqual(correct);
  });

  it('does not extend the lock when the owner tries the correct password', async () => {
    const user = await registerUser();
    for (let i = 0; i < LOCK_AFTER_FAILURES; i += 1) await login(wrongLogin(user.email));
    const locked = await lockState(user.email);
    await login({ email: user.email, password: user.password });
    expect(await lockState(user.email)).toEqual(locked);
  });

  it('lets the owner back in once the lock has passed, and resets the count', async () => {
    const user = await registerUser();
    for (let i = 0; i < 6; i += 1) await login(wrongLogin(user.email));
    // Time passing, without waiting: the lock ends in the past.
    await env.AUTH_DB.prepare('UPDATE users SET login_locked_until = ? WHERE email = ?').bind(Date.now() - 1, user.email).run();
    const res = await login({ email: user.email, password: user.password });
    expect(res.status).toBe(200);
    expect(await lockState(user.email)).toEqual({ failures: 0, lockedUntil: null });
  });

  it('caps what an attacker can do to the owner at 15 minutes, however many attempts', async () => {
    const user = await registerUser();
    await env.AUTH_DB.prepare('UPDATE users SET failed_login_count = 500 WHERE email = ?').bind(user.email).run();
    const before = Date.now();
    await login(wrongLogin(user.email));
    const state = await lockState(user.email);
    expect(state!.lockedUntil! - before).toBeLessThanOrEqual(LOCK_MAX_MS + 1_000);
    expect(state!.lockedUntil! - before).toBeGreaterThan(LOCK_MAX_MS - 5_000);
  });
});
