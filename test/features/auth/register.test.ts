import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../../src/security/password';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { decodeToken } from '../../helpers/tokens';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[]; requestId: string };
}

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const uniqueEmail = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
const register = (body: unknown) => call('/api/v1/auth/register', { body, ip: freshIp() });

async function storedUser(email: string) {
  return env.AUTH_DB.prepare('SELECT public_id, email, password_hash FROM users WHERE email = ?').bind(email).first<{ public_id: string; email: string; password_hash: string }>();
}

/** The distinct fields reported (zod may report two problems for one field). */
function fields(body: ErrorBody): string[] {
  return [...new Set((body.error.details ?? []).map((d) => d.field))].sort();
}

describe('POST /auth/register', () => {
  it('creates an account and returns a token pair', async () => {
    const res = await call('/api/v1/auth/register', { body: { email: '  New.User@Example.COM ', password: 'a-long-enough-secret', fullName: 'New User' }, ip: freshIp() });
    expect(res.status).toBe(201);
    const body = await json<Record<string, unknown>>(res);
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email: 'new.user@example.com', fullName: 'New User', roles: ['user'], emailVerified: false } });
    expect(typeof body.accessToken).toBe('string');
    expect(typeof body.refreshToken).toBe('string');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('X-Request-Id')).toBeTruthy();
  });

  it('refuses a taken email in any case or spacing with 409', async () => {
    const first = await registerUser();
    const res = await call('/api/v1/auth/register', { body: { email: ` ${first.email.toUpperCase()} `, password: 'another-long-secret' }, ip: freshIp() });
    expect(res.status).toBe(409);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe('EMAIL_TAKEN');
  });

  it('answers the contract shape: public user fields only, an access token for it, an opaque refresh token', async () => {
    const email = uniqueEmail('shape');
    const res = await register({ email, password: 'shape of the answer', fullName: '  Ada Lovelace  ' });
    expect(res.status).toBe(201);
    const body = await json<Record<string, unknown> & { user: Record<string, unknown>; accessToken: string; refreshToken: string }>(res);
    expect(Object.keys(body).sort()).toEqual(['accessToken', 'deviceToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
    expect(Object.keys(body.user).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'fullName', 'id', 'roles', 'updatedAt']);
    expect(body.user).toMatchObject({ email, fullName: 'Ada Lovelace', roles: ['user'], emailVerified: false });
    expect(body.user.id).toMatch(UUIDV7);
    expect(new Date(body.user.createdAt as string).toISOString()).toBe(body.user.createdAt);
    const { header, payload } = decodeToken(body.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: body.user.id });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    // <session id>.<32 random bytes>: at least 256 bits of secret.
    expect(body.refreshToken).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    expect(body.refreshToken.split('.')[0]).toBe(payload.sid);
    expect(JSON.stringify(body)).not.toMatch(/argon|password|hash/i);
  });

  it('stores the normalised email and an argon2id hash of the password, never the password', async () => {
    const email = uniqueEmail('Stored');
    const res = await register({ email: `\t ${email.toUpperCase()} \n`, password: 'stored as a hash only' });
    expect(res.status).toBe(201);
    const row = await storedUser(email.toLowerCase());
    expect(row?.email).toBe(email.toLowerCase());
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row?.password_hash).not.toContain('stored as a hash only');
    expect(await verifyPassword('stored as a hash only', row!.password_hash)).toBe(true);
    const session = await env.AUTH_DB.prepare('SELECT refresh_hash FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?').bind(email.toLowerCase()).first<{ refresh_hash: string }>();
    const { refreshToken } = await json<{ refreshToken: string }>(res);
    expect(session?.refresh_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(session?.refresh_hash).not.toContain(refreshToken.split('.')[1]);
  });

  it.each([
    [7, 400],
    [8, 201],
    [128, 201],
    [129, 400],
  ])('a password of %i characters answers %i', async (length, status) => {
    const password = 'kx7!qz'.repeat(30).slice(0, length);
    const res = await register({ email: uniqueEmail(`len${length}`), password });
    expect(res.status).toBe(status);
    if (status === 400) expect(fields(await json<ErrorBody>(res))).toEqual(['password']);
  });

  it('keeps leading and trailing spaces: the password is verified exactly as received', async () => {
    const email = uniqueEmail('spaces');
    expect((await register({ email, password: '  padded secret  ' })).status).toBe(201);
    const login = (password: string) => call('/api/v1/auth/login', { body: { email, password }, ip: freshIp() });
    expect((await login('padded secret')).status).toBe(401);
    expect((await login('  padded secret  ')).status).toBe(200);
  });

  it('counts 8 characters even when they are multi-byte, and refuses 7', async () => {
    expect((await register({ email: uniqueEmail('utf'), password: 'ÄÖÜäöüßé' })).status).toBe(201);
    expect((await register({ email: uniqueEmail('utf7'), password: 'ÄÖÜäöüß' })).status).toBe(400);
  });

  it.each(['password123', 'PassWord123', 'qwertyuiop', '12345678'])('refuses the common password %s', async (password) => {
    const res = await register({ email: uniqueEmail('common'), password });
    expect(res.status).toBe(400);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(body.error.details).toEqual([{ field: 'password', message: 'Password is too common' }]);
  });

  it('refuses a password equal to the email', async () => {
    const email = uniqueEmail('same');
    const res = await register({ email, password: email.toUpperCase() });
    expect(res.status).toBe(400);
    expect(fields(await json<ErrorBody>(res))).toEqual(['password']);
  });

  it('reports every field error at once, including unknown keys (no mass assignment of roles)', async () => {
    const res = await register({ email: 'not-an-email', password: 'short', fullName: '   ', role: 'admin', roles: ['admin'] });
    expect(res.status).toBe(400);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(fields(body)).toEqual(['email', 'fullName', 'password', 'role', 'roles'].sort());
  });

  it('reports a common password together with an invalid email', async () => {
    const body = await json<ErrorBody>(await register({ email: 'nope', password: 'password123' }));
    expect(fields(body)).toEqual(['email', 'password']);
  });

  it('reports missing and mistyped fields', async () => {
    expect(fields(await json<ErrorBody>(await register({})))).toEqual(['email', 'password']);
    expect(fields(await json<ErrorBody>(await register({ email: 42, password: ['x'], fullName: {} })))).toEqual(['email', 'fullName', 'password']);
    for (const body of [[], 'text', 7, null]) {
      const res = await register(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('refuses an email longer than 254 characters and a full name longer than 100', async () => {
    const long = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;
    expect(fields(await json<ErrorBody>(await register({ email: long, password: 'long enough secret' })))).toEqual(['email']);
    expect(fields(await json<ErrorBody>(await register({ email: uniqueEmail('name'), password: 'long enough secret', fullName: 'x'.repeat(101) })))).toEqual(['fullName']);
  });

  it('creates exactly one account when the same email registers twice at once', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all([0, 1, 2].map((i) => register({ email: i === 1 ? email.toUpperCase() : email, password: `race secret ${i}!` })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const count = await env.AUTH_DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind(email).first<{ n: number }>();
    expect(count?.n).toBe(1);
  });
});
