import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../src/security/password';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { argon2idPhc, decodeToken } from '../../helpers/tokens';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[]; requestId: string };
}

const login = (email: unknown, password: unknown, headers: Record<string, string> = {}) =>
  call('/api/v1/auth/login', { body: { email, password }, ip: freshIp(), headers });

async function userRow(email: string) {
  return env.AUTH_DB.prepare('SELECT id, password_hash, failed_login_count, login_locked_until FROM users WHERE email = ?')
    .bind(email)
    .first<{ id: number; password_hash: string; failed_login_count: number; login_locked_until: number | null }>();
}

/** Status, body and the headers a client can compare (Date excluded), for two answers that must be alike. */
async function observable(res: Response) {
  // X-D1-Bookmark is a position in the database's commit log, moved by every write of anyone;
  // which databases it names must match (the same stores were touched), its positions cannot.
  const headers = [...res.headers.entries()]
    .filter(([k]) => k !== 'date')
    .map(([k, v]) => [k, k === 'x-d1-bookmark' ? v.replace(/:[^,]+/g, ':<position>') : v])
    .sort();
  return { status: res.status, body: await res.text(), headers };
}

describe('POST /auth/login', () => {
  it('answers 200 with a token pair for a new session', async () => {
    const user = await registerUser({ fullName: 'Login Person' });
    const res = await login(user.email, user.password);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = await json<{ user: { id: string; email: string; fullName: string }; accessToken: string; refreshToken: string; tokenType: string; expiresIn: number }>(res);
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: user.user.id, email: user.email, fullName: 'Login Person', roles: ['user'] } });
    expect(decodeToken(body.accessToken).payload.sid).not.toBe(decodeToken(user.accessToken).payload.sid);
    expect(body.refreshToken).not.toBe(user.refreshToken);
    const me = await call('/api/v1/users/me', { token: body.accessToken });
    expect(me.status).toBe(200);
  });

  it('gives an unknown email and a wrong password the same status, body and headers', async () => {
    const user = await registerUser();
    const sameId = { 'X-Request-Id': 'same-request-id-0001' };
    const unknown = await observable(await login(`nobody-${crypto.randomUUID()}@example.com`, user.password, sameId));
    const wrong = await observable(await login(user.email, `${user.password}!`, sameId));
    expect(unknown.status).toBe(401);
    expect(wrong).toEqual(unknown);
    expect(JSON.parse(unknown.body)).toEqual({ error: { code: 'INVALID_CREDENTIALS', message: 'Invalid email or password', requestId: 'same-request-id-0001' } });
  });

  it('answers a too-short or empty-ish password like any wrong one (401, never a 500)', async () => {
    const user = await registerUser();
    for (const password of ['x', 'seven77', 'ü']) {
      const res = await login(user.email, password);
      expect(res.status, password).toBe(401);
      expect((await json<ErrorBody>(res)).error.code).toBe('INVALID_CREDENTIALS');
    }
    expect((await login(`nobody-${crypto.randomUUID()}@example.com`, 'abc')).status).toBe(401);
  });

  it('accepts the email in any case and with surrounding spaces', async () => {
    const user = await registerUser({ email: `Mixed.Case-${crypto.randomUUID().slice(0, 8)}@Example.com` });
    for (const variant of [user.email.toUpperCase(), `  ${user.email.toLowerCase()}\t`]) {
      expect((await login(variant, user.password)).status, variant).toBe(200);
    }
  });

  it('never trims or folds the password', async () => {
    const user = await registerUser({ password: 'Case Sensitive Secret' });
    expect((await login(user.email, 'case sensitive secret')).status).toBe(401);
    expect((await login(user.email, ' Case Sensitive Secret')).status).toBe(401);
    expect((await login(user.email, 'Case Sensitive Secret')).status).toBe(200);
  });

  it('refuses a deleted user exactly like an unknown email', async () => {
    const user = await registerUser();
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ? WHERE public_id = ?').bind(Date.now(), user.user.id).run();
    const sameId = { 'X-Request-Id': 'same-request-id-0002' };
    const deleted = await observable(await login(user.email, user.password, sameId));
    const unknown = await observable(await login(`nobody-${crypto.randomUUID()}@example.com`, user.password, sameId));
    expect(deleted.status).toBe(401);
    expect(deleted).toEqual(unknown);
  });

  it('upgrades a hash made with other parameters on the next successful login', async () => {
    const user = await registerUser({ password: 'upgrade me on login' });
    const legacy = await argon2idPhc('upgrade me on login', { memorySize: 8_192, passes: 1, parallelism: 1 });
    await env.AUTH_DB.prepare('UPDATE users SET password_hash = ? WHERE public_id = ?').bind(legacy, user.user.id).run();

    expect((await login(user.email, 'wrong password here')).status).toBe(401);
    expect((await userRow(user.email))?.password_hash).toBe(legacy); // a failure never rewrites it

    expect((await login(user.email, 'upgrade me on login')).status).toBe(200);
    const upgraded = (await userRow(user.email))!.password_hash;
    expect(upgraded).not.toBe(legacy);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('upgrade me on login', upgraded)).toBe(true);
    expect((await login(user.email, 'upgrade me on login')).status).toBe(200);
    expect((await userRow(user.email))!.password_hash).toBe(upgraded); // current parameters: left alone
  });

  it('counts failures and resets the count on success', async () => {
    const user = await registerUser();
    await login(user.email, 'wrong password 1');
    await login(user.email, 'wrong password 2');
    expect((await userRow(user.email))?.failed_login_count).toBe(2);
    expect((await login(user.email, user.password)).status).toBe(200);
    expect((await userRow(user.email))?.failed_login_count).toBe(0);
  });

  it('refuses the right password while the account is locked, with the same 401 body', async () => {
    const user = await registerUser();
    await env.AUTH_DB.prepare('UPDATE users SET failed_login_count = 5, login_locked_until = ? WHERE public_id = ?').bind(Date.now() + 60_000, user.user.id).run();
    const res = await login(user.email, user.password, { 'X-Request-Id': 'locked-request-id-01' });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: { code: 'INVALID_CREDENTIALS', message: 'Invalid email or password', requestId: 'locked-request-id-01' } });
    await env.AUTH_DB.prepare('UPDATE users SET login_locked_until = ? WHERE public_id = ?').bind(Date.now() - 1, user.user.id).run();
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('reports every invalid field at once and refuses unknown keys', async () => {
    const res = await call('/api/v1/auth/login', { body: { email: 'nope', password: '', mfa: true }, ip: freshIp() });
    expect(res.status).toBe(400);
    const body = await json<ErrorBody>(res);
    expect(body.error.details!.map((d) => d.field).sort()).toEqual(['email', 'mfa', 'password']);
  });

  it('refuses a password longer than 128 characters with 400 before any hashing', async () => {
    const res = await login('someone@example.com', 'x'.repeat(129));
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.details).toEqual([{ field: 'password', message: 'Password is too long' }]);
  });

  it('is not fooled by SQL in the email', async () => {
    const user = await registerUser();
    for (const email of [`${user.email}' OR '1'='1`, `' OR 1=1 --@example.com`]) {
      const res = await login(email, user.password);
      expect([400, 401]).toContain(res.status);
    }
  });
});
