import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, registerUser, type TokenPair } from '../helpers/api';
import { registerAdmin } from '../helpers/users';
import { optInSms, prepared } from '../features/notifications/notification-helpers';
import { count, DAY, runAt } from './cron-helpers';

const DAILY = '17 3 * * *';

/** A user with data in every table the purge must reach. */
async function richUser(): Promise<TokenPair> {
  const user = await registerUser();
  const token = user.accessToken;
  await call('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }); // a spent refresh token
  await call('/api/v1/devices', { token, body: { platform: 'android', token: `${crypto.randomUUID()}:APA91b${'x'.repeat(40)}` } });
  await call('/api/v1/notifications/preferences', { method: 'PUT', token, body: { channels: { email: { enabled: false } } } });
  const phone = () => `+1415${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
  await optInSms(token, phone()); // a consent (double opt-in)
  await call('/api/v1/notifications/sms-consent', { method: 'PUT', token, body: { phone: phone(), promotional: true } }); // a pending code
  await prepared({ userId: user.user.id, channels: ['in_app', 'email'], category: 'transactional', kind: 'x', content: { title: 'x', body: 'x' } });
  return user;
}

async function footprint(publicId: string) {
  const auth = (sql: string) => count(env.AUTH_DB, sql, publicId);
  const app = (table: string) => count(env.APP_DB, `SELECT count(*) AS n FROM ${table} WHERE user_public_id = ?1`, publicId);
  return {
    users: await auth('SELECT count(*) AS n FROM users WHERE public_id = ?1'),
    sessions: await auth('SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.public_id = ?1'),
    roles: await auth('SELECT count(*) AS n FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.public_id = ?1'),
    profiles: await app('profiles'),
    notifications: await app('notifications'),
    devices: await app('devices'),
    preferences: await app('notification_preferences'),
    consents: await app('sms_consents'),
    consentCodes: await app('sms_consent_proofs'),
  };
}

const softDelete = (publicId: string, at: number) => env.AUTH_DB.prepare('UPDATE users SET deleted_at = ?1 WHERE public_id = ?2').bind(at, publicId).run();

describe('cron: hard delete of soft-deleted users past retention', () => {
  it('removes the user from every database once past RETENTION_DELETED_USERS_DAYS, and only then', async () => {
    const now = Date.now();
    const [old, recent, active] = [await richUser(), await richUser(), await richUser()];
    const spentBefore = await count(env.AUTH_DB, 'SELECT count(*) AS n FROM spent_refresh_tokens');
    expect(spentBefore).toBeGreaterThanOrEqual(3);
    await softDelete(old.user.id, now - 31 * DAY);
    await softDelete(recent.user.id, now - 5 * DAY);
    const before = await footprint(old.user.id);
    expect(Object.values(before).every((n) => n > 0)).toBe(true);

    const { deletedUsers } = await runAt(DAILY, now);
    expect(deletedUsers).toMatchObject({ affected: 1, done: true });
    expect(Object.values(await footprint(old.user.id)).every((n) => n === 0)).toBe(true);
    for (const kept of [recent, active]) expect(Object.values(await footprint(kept.user.id)).every((n) => n > 0)).toBe(true);
    expect(await count(env.AUTH_DB, 'SELECT count(*) AS n FROM spent_refresh_tokens')).toBe(spentBefore - 1);
    // Audit rows are kept on purpose (security records, pseudonymous once the user is gone).
    expect((await runAt(DAILY, now)).deletedUsers).toMatchObject({ affected: 0, done: true });
  });

  it('never purges a user restored before the run', async () => {
    const now = Date.now();
    const user = await richUser();
    await softDelete(user.user.id, now - 40 * DAY);
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = NULL WHERE public_id = ?1').bind(user.user.id).run();
    await runAt(DAILY, now);
    expect((await footprint(user.user.id)).users).toBe(1);
  });

  it('works through the API’s soft delete, in rounds bounded per run', async () => {
    const admin = await registerAdmin();
    const users = await Promise.all(Array.from({ length: 3 }, () => registerUser()));
    for (const u of users) expect((await call(`/api/v1/users/${u.user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(204);
    const later = Date.now() + 31 * DAY;
    const { deletedUsers } = await runAt(DAILY, later);
    // Earlier tests' soft-deleted users are past retention at this date too.
    expect(deletedUsers!.affected).toBeGreaterThanOrEqual(3);
    for (const u of users) expect((await footprint(u.user.id)).users).toBe(0);
  });
});
