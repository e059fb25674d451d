import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { call, freshIp, json } from '../../helpers/api';
import { registerAdmin } from '../../helpers/users';

// Credentials live in AUTH_DB, profiles in APP_DB: no shared transaction. These tests make the
// second write fail and check that nothing half-written is ever visible.
async function profileCount(): Promise<number> {
  return (await env.APP_DB.prepare('SELECT count(*) AS n FROM profiles').first<{ n: number }>())?.n ?? 0;
}

afterEach(async () => {
  await env.AUTH_DB.prepare('DROP TRIGGER IF EXISTS fail_user_insert').run();
});

describe('users across AUTH_DB and APP_DB', () => {
  it('leaves neither a user nor a profile when the AUTH_DB write fails during registration', async () => {
    await env.AUTH_DB.prepare(
      "CREATE TRIGGER fail_user_insert BEFORE INSERT ON users WHEN NEW.email LIKE 'doomed-%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    ).run();
    const before = await profileCount();
    const email = `doomed-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const res = await call('/api/v1/auth/register', { body: { email, password: 'a perfectly fine password', fullName: 'Doomed' }, ip: freshIp() });
    expect(res.status).toBe(500);
    const body = await json<{ error: { code: string; message: string } }>(res);
    expect(body.error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal server error' });
    expect(JSON.stringify(body)).not.toMatch(/injected|SQL|trigger|users/i);
    expect(await env.AUTH_DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind(email).first('n')).toBe(0);
    expect(await profileCount()).toBe(before);
    // The same email registers fine once the fault is gone.
    await env.AUTH_DB.prepare('DROP TRIGGER fail_user_insert').run();
    const retry = await call('/api/v1/auth/register', { body: { email, password: 'a perfectly fine password', fullName: 'Doomed' }, ip: freshIp() });
    expect(retry.status).toBe(201);
    expect(await profileCount()).toBe(before + 1);
  });

  it('never shows a user without a profile: a lost profile is recreated on read', async () => {
    const admin = await registerAdmin();
    await env.APP_DB.prepare('DELETE FROM profiles WHERE user_public_id = ?').bind(admin.user.id).run();
    const res = await call('/api/v1/users/me', { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect((await json<{ id: string; fullName: string | null }>(res)).id).toBe(admin.user.id);
    const listed = await json<{ data: { id: string }[] }>(await call('/api/v1/users?limit=100', { token: admin.accessToken }));
    expect(listed.data.map((u) => u.id)).toContain(admin.user.id);
    expect(await env.APP_DB.prepare('SELECT count(*) AS n FROM profiles WHERE user_public_id = ?').bind(admin.user.id).first('n')).toBe(1);
  });

  it('puts the profile back when the credential half of an update fails', async () => {
    const admin = await registerAdmin();
    const target = await registerAdmin();
    await env.AUTH_DB.prepare(
      "CREATE TRIGGER fail_user_insert BEFORE UPDATE ON users WHEN NEW.email LIKE 'doomed-%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    ).run();
    const res = await call(`/api/v1/users/${target.user.id}`, { method: 'PATCH', token: admin.accessToken, body: { fullName: 'Half Written', email: 'doomed-x@example.com' } });
    expect(res.status).toBe(500);
    const after = await json<{ fullName: string | null; email: string }>(await call(`/api/v1/users/${target.user.id}`, { token: admin.accessToken }));
    expect(after.fullName).not.toBe('Half Written');
    expect(after.email).toBe(target.email);
  });
});
