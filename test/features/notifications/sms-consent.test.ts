import '../../../src/app';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { apiPath, routeRegistry } from '../../../src/lib/route';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode } from '../../helpers/users';
import { optInSms, smsConsentCode } from './notification-helpers';

let seq = 0;
/** A fresh US number per test: consents are keyed by number. */
function phone(): string {
  seq += 1;
  return `+1628${String(Math.floor(Math.random() * 900) + 100)}${String(seq).padStart(4, '0')}`;
}

const consentOf = (phone: string) =>
  env.APP_DB.prepare('SELECT user_public_id, promotional_opt_in, evidence FROM sms_consents WHERE phone = ?1').bind(phone).first<{ user_public_id: string; promotional_opt_in: number; evidence: string }>();
const proofOf = (userId: string) => env.APP_DB.prepare('SELECT * FROM sms_consent_proofs WHERE user_public_id = ?1').bind(userId).first<Record<string, unknown>>();

const requestCode = (token: string, to: string, extra: Record<string, unknown> = {}) =>
  call('/api/v1/notifications/sms-consent', { method: 'PUT', token, body: { phone: to, promotional: true, ...extra } });
const verify = (token: string, code: string) => call('/api/v1/notifications/sms-consent/verify', { token, body: { code } });
const withdraw = (token: string, to: string) => call('/api/v1/notifications/sms-consent', { method: 'PUT', token, body: { phone: to, promotional: false } });
const list = async (token: string) => json<{ data: { phone: string; promotional: boolean }[]; pending: { phone: string; expiresAt: string } | null }>(await call('/api/v1/notifications/sms-consent', { token }));

/** A code that is not `code` (six digits). */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

async function auditRows(userId: string) {
  const rows = await env.LOGS_DB.prepare("SELECT outcome, details FROM audit_logs WHERE action = 'notification.sms_consent' AND target_id = ?1").bind(userId).all<{ outcome: string; details: string }>();
  return rows.results.map((r): Record<string, unknown> => ({ outcome: r.outcome, ...(JSON.parse(r.details) as Record<string, unknown>) }));
}

describe('SMS promotional consent: double opt-in', () => {
  it('texts a code over the transactional channel, records nothing until it comes back, then records the consent', async () => {
    const u = await registerUser();
    const to = phone();
    const since = Date.now();
    const res = await requestCode(u.accessToken, to, { timeZone: 'Europe/Paris' });
    expect(res.status).toBe(202);
    const body = await json<{ phone: string; status: string; expiresAt: string }>(res);
    expect(body).toMatchObject({ phone: to, status: 'verification_sent' });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(await consentOf(to)).toBeNull();
    expect((await list(u.accessToken)).pending).toMatchObject({ phone: to });

    const code = await smsConsentCode(to, since);
    const sms = recordedMessages((m) => m.to === to && m.body.includes(code));
    expect(sms).toHaveLength(1);
    expect(sms[0]!.provider).toBe('recording-twilio-transactional');
    // Only a hash rests in the database: neither the proof nor the notification holds the code.
    const proof = await proofOf(u.user.id);
    expect(JSON.stringify(proof)).not.toContain(code);
    expect(proof!.code_hash).toMatch(/^[0-9a-f]{64}$/);
    const notif = await env.APP_DB.prepare("SELECT channel, category, body FROM notifications WHERE user_public_id = ?1 AND kind = 'notification.sms_consent_code'").bind(u.user.id).first();
    expect(notif).toEqual({ channel: 'sms_transactional', category: 'security', body: null });

    const ok = await verify(u.accessToken, code);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toMatchObject({ phone: to, promotional: true, timeZone: 'Europe/Paris' });
    const consent = await consentOf(to);
    expect(consent).toMatchObject({ user_public_id: u.user.id, promotional_opt_in: 1 });
    expect(JSON.parse(consent!.evidence)).toMatchObject({ method: 'sms_code', ipPrefix: '203.0.113.0/24' });
    expect(await proofOf(u.user.id)).toBeNull();
    expect(await list(u.accessToken)).toMatchObject({ data: [{ phone: to, promotional: true }], pending: null });

    // Single use: the same code a second time confirms nothing.
    expect((await verify(u.accessToken, code)).status).toBe(400);
    await vi.waitFor(async () => expect((await auditRows(u.user.id)).map((r) => r.step)).toEqual(expect.arrayContaining(['code_sent', 'verified', 'verify'])), { timeout: 8000 });
  });

  it('allows five attempts per code: after five wrong ones even the right code is refused', async () => {
    const u = await registerUser();
    const to = phone();
    const since = Date.now();
    await requestCode(u.accessToken, to);
    const code = await smsConsentCode(to, since);
    for (let i = 0; i < 5; i++) {
      const res = await verify(u.accessToken, wrong(code));
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('VALIDATION_ERROR');
    }
    expect((await verify(u.accessToken, code)).status).toBe(400);
    expect(await consentOf(to)).toBeNull();
    expect((await list(u.accessToken)).pending).toBeNull();
    await vi.waitFor(async () => {
      const failures = (await auditRows(u.user.id)).filter((r) => r.outcome === 'failure');
      expect(failures.filter((r) => r.reason === 'wrong_code')).toHaveLength(5);
      expect(failures.filter((r) => r.reason === 'no_pending_code')).toHaveLength(1);
    }, { timeout: 8000 });
  });

  it('refuses an expired code, and a code sent to another user', async () => {
    const a = await registerUser();
    const b = await registerUser();
    const to = phone();
    const since = Date.now();
    await requestCode(a.accessToken, to);
    const code = await smsConsentCode(to, since);
    // B never asked: A's code means nothing on B's account.
    expect((await verify(b.accessToken, code)).status).toBe(400);
    await env.APP_DB.prepare('UPDATE sms_consent_proofs SET expires_at = ?1 WHERE user_public_id = ?2').bind(Date.now() - 1, a.user.id).run();
    expect((await verify(a.accessToken, code)).status).toBe(400);
    expect(await consentOf(to)).toBeNull();
  });

  it('never lets a user take over a number another account verified without the code sent to it', async () => {
    const owner = await registerUser();
    const attacker = await registerUser();
    const to = phone();
    await optInSms(owner.accessToken, to, 'America/New_York');

    // Same answer as for any number: nothing tells the attacker the number is someone's.
    const since = Date.now();
    const res = await requestCode(attacker.accessToken, to);
    expect(res.status).toBe(202);
    expect(await json(res)).toMatchObject({ phone: to, status: 'verification_sent' });
    expect(await consentOf(to)).toMatchObject({ user_public_id: owner.user.id, promotional_opt_in: 1 });
    expect((await list(attacker.accessToken)).data).toEqual([]);
    // Guessing does not move it.
    const code = await smsConsentCode(to, since);
    expect((await verify(attacker.accessToken, wrong(code))).status).toBe(400);
    expect(await consentOf(to)).toMatchObject({ user_public_id: owner.user.id });

    // Whoever holds the phone (and so reads the code) does move it: a recycled number.
    const moved = await verify(attacker.accessToken, code);
    expect(moved.status).toBe(200);
    expect(await json(moved)).toMatchObject({ phone: to, promotional: true, timeZone: null });
    expect(await consentOf(to)).toMatchObject({ user_public_id: attacker.user.id });
    expect((await list(owner.accessToken)).data).toEqual([]);
    await vi.waitFor(async () => expect((await auditRows(attacker.user.id)).find((r) => r.step === 'verified')).toMatchObject({ movedFromAnotherAccount: true }), { timeout: 8000 });
  });

  it('withdraws at once, for the holder and for anyone else, without moving the number', async () => {
    const owner = await registerUser();
    const other = await registerUser();
    const to = phone();
    await optInSms(owner.accessToken, to, 'Europe/Berlin');

    const byOther = await withdraw(other.accessToken, to);
    expect(byOther.status).toBe(200);
    // The holder's time zone is not shown to another account.
    expect(await json(byOther)).toMatchObject({ phone: to, promotional: false, timeZone: null });
    expect(await consentOf(to)).toMatchObject({ user_public_id: owner.user.id, promotional_opt_in: 0 });
    expect((await list(other.accessToken)).data).toEqual([]);

    const byOwner = await withdraw(owner.accessToken, to);
    expect(byOwner.status).toBe(200);
    expect(await json(byOwner)).toMatchObject({ phone: to, promotional: false, timeZone: 'Europe/Berlin' });

    // A withdrawal cancels the caller's pending opt-in for that number.
    const fresh = phone();
    await requestCode(owner.accessToken, fresh);
    expect((await list(owner.accessToken)).pending).toMatchObject({ phone: fresh });
    expect((await withdraw(owner.accessToken, fresh)).status).toBe(200);
    expect((await list(owner.accessToken)).pending).toBeNull();
  });

  it('limits code requests per user (expensive tier) and validates the code', async () => {
    const u = await registerUser();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await requestCode(u.accessToken, phone())).status);
    expect(statuses.every((s) => s === 202)).toBe(true);
    const limited = await requestCode(u.accessToken, phone());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBeTruthy();
    for (const body of [{}, { code: '12345' }, { code: 'abcdef' }, { code: '123456', phone: '+14155550100' }]) {
      expect((await call('/api/v1/notifications/sms-consent/verify', { token: u.accessToken, body })).status, JSON.stringify(body)).toBe(400);
    }
    expect((await call('/api/v1/notifications/sms-consent/verify', { body: { code: '123456' } })).status).toBe(401);
  });

  it('documents the verify route (OpenAPI comes from the route specs)', () => {
    const spec = routeRegistry.find((r) => r.method === 'post' && apiPath(r) === '/notifications/sms-consent/verify');
    expect(spec?.responses[200]).toBeDefined();
    const put = routeRegistry.find((r) => r.method === 'put' && apiPath(r) === '/notifications/sms-consent');
    expect(put?.rateLimit).toBe('expensive');
    expect(Object.keys(put!.responses)).toEqual(expect.arrayContaining(['200', '202']));
  });
});
