import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, PASSWORD, registerUser } from '../helpers/api';
import { rateHeaders, wrongLogin } from '../security/rate-limit-helpers';

// Default auth tier from wrangler.toml: 5 attempts per 900 s, per IP and per account.
const LOGIN = '/api/v1/auth/login';
const REGISTER = '/api/v1/auth/register';
const freshEmail = () => `rl-${crypto.randomUUID()}@example.com`;
const statuses = (responses: Response[]) => responses.map((r) => r.status).sort((a, b) => a - b);

describe('auth tier (exact, per IP and per account)', () => {
  it('lets exactly 5 of 20 parallel wrong logins through, the rest get 429', async () => {
    const user = await registerUser();
    const ip = freshIp();
    const responses = await Promise.all(Array.from({ length: 20 }, () => call(LOGIN, { body: wrongLogin(user.email), ip })));
    expect(statuses(responses)).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
  });

  it('answers 429 in the error envelope with Retry-After and every rate header', async () => {
    const ip = freshIp();
    const email = freshEmail();
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(email), ip })).status).toBe(401);
    const res = await call(LOGIN, { body: wrongLogin(email), ip });
    expect(res.status).toBe(429);
    const body = await json<{ error: { code: string; message: string; requestId: string } }>(res);
    expect(body.error).toMatchObject({ code: 'RATE_LIMITED', message: 'Too many requests' });
    expect(body.error.requestId).toBe(res.headers.get('X-Request-Id'));
    const retryAfter = Number(res.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(rateHeaders(res)).toEqual({
      'RateLimit-Limit': '5',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': String(retryAfter),
      'RateLimit-Policy': '5;w=900',
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(retryAfter),
    });
  });

  it('puts the headers on successes and on other errors too', async () => {
    const ip = freshIp();
    const created = await call(REGISTER, { body: { email: freshEmail(), password: PASSWORD }, ip });
    expect(created.status).toBe(201);
    // The successful registration gave its slot back: the full quota is shown.
    expect(rateHeaders(created)).toMatchObject({ 'RateLimit-Limit': '5', 'RateLimit-Remaining': '5', 'RateLimit-Policy': '5;w=900' });
    const taken = await call(REGISTER, { body: { email: (await registerUser()).email, password: PASSWORD }, ip });
    expect(taken.status).toBe(409);
    expect(rateHeaders(taken)).toMatchObject({ 'RateLimit-Remaining': '4', 'X-RateLimit-Remaining': '4' });
    expect(Number(taken.headers.get('RateLimit-Reset'))).toBeGreaterThan(890);
    // A schema refusal carries the headers too, and gives its slot back. Without a usable email
    // only the registration budget of the IP speaks: 2 of its 10 per hour spent (successes count).
    const invalid = await call(REGISTER, { body: { email: 'not-an-email', password: 'short' }, ip });
    expect(invalid.status).toBe(400);
    expect(rateHeaders(invalid)).toMatchObject({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '8', 'RateLimit-Policy': '10;w=3600' });
  });

  it('counts per account, so rotating IPs does not bypass it', async () => {
    const user = await registerUser();
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(user.email), ip: freshIp() })).status).toBe(401);
    // Another IP, the right password, another spelling of the email: still the same account.
    const res = await call(LOGIN, { body: { email: ` ${user.email.toUpperCase()}`, password: user.password }, ip: freshIp() });
    expect(res.status).toBe(429);
  });

  it('counts per IP, so one client cannot stuff credentials across many accounts', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(401);
    expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(429);
  });

  it('groups IPv6 clients by /64', async () => {
    const email = () => freshEmail();
    for (let i = 1; i <= 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(email()), ip: `2001:db8:aa:1::${i}` })).status).toBe(401);
    expect((await call(LOGIN, { body: wrongLogin(email()), ip: '2001:db8:aa:1:ffff:ffff:ffff:1' })).status).toBe(429);
    expect((await call(LOGIN, { body: wrongLogin(email()), ip: '2001:db8:aa:2::1' })).status).toBe(401);
  });

  it('never trusts X-Forwarded-For', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) {
      const res = await call(LOGIN, { body: wrongLogin(freshEmail()), ip, headers: { 'X-Forwarded-For': `192.0.2.${i + 1}` } });
      expect(res.status).toBe(401);
    }
    expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip, headers: { 'X-Forwarded-For': '192.0.2.99' } })).status).toBe(429);
  });

  it('gives successful logins and registrations their slot back (no throttling of real users)', async () => {
    const ip = freshIp();
    for (let i = 0; i < 8; i += 1) expect((await call(REGISTER, { body: { email: freshEmail(), password: PASSWORD }, ip })).status).toBe(201);
    const user = await registerUser();
    for (let i = 0; i < 8; i += 1) expect((await call(LOGIN, { body: { email: user.email, password: user.password }, ip })).status).toBe(200);
    // ...while failures from the same IP are still limited to exactly 5.
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(401);
    expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(429);
  });

  it('keeps enumeration through 409 EMAIL_TAKEN exactly limited', async () => {
    const user = await registerUser();
    const ip = freshIp();
    const probe = () => call(REGISTER, { body: { email: user.email, password: 'another-long-secret' }, ip });
    for (let i = 0; i < 5; i += 1) expect((await probe()).status).toBe(409);
    expect((await probe()).status).toBe(429);
  });

  it('counts a body without a usable email against the IP only', async () => {
    const ip = freshIp();
    // Schema refusals never spend the budget (they guessed nothing)...
    for (let i = 0; i < 6; i += 1) expect((await call(LOGIN, { body: { email: ['x'], password: 'x' }, ip })).status).toBe(400);
    // ...while well-formed wrong logins against five different accounts exhaust the IP.
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(401);
    expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(429);
    expect((await call(LOGIN, { rawBody: '{"email":', headers: { 'Content-Type': 'application/json' }, ip: freshIp() })).status).toBe(400);
  });

  it('gives the IP slot back when the account refuses, so a locked account does not burn the IP', async () => {
    const victim = freshEmail();
    for (let i = 0; i < 5; i += 1) await call(LOGIN, { body: wrongLogin(victim), ip: freshIp() });
    const ip = freshIp();
    for (let i = 0; i < 3; i += 1) expect((await call(LOGIN, { body: wrongLogin(victim), ip })).status).toBe(429);
    for (let i = 0; i < 5; i += 1) expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(401);
    expect((await call(LOGIN, { body: wrongLogin(freshEmail()), ip })).status).toBe(429);
  });

  it('limits password changes of a signed-in account', async () => {
    const user = await registerUser();
    const change = () => call('/api/v1/auth/password', { token: user.accessToken, body: { currentPassword: 'wrong-current-password', newPassword: 'a-brand-new-long-secret' }, ip: freshIp() });
    for (let i = 0; i < 5; i += 1) expect((await change()).status).toBe(400);
    const res = await change();
    expect(res.status).toBe(429);
    expect(res.headers.get('Retry-After')).toBeTruthy();
  });
});

describe('auth tier per-account scope', () => {
  it('does not let register probes with an email lock that account out of login', async () => {
    const victim = await registerUser();
    for (let i = 0; i < 6; i++) {
      await call('/api/v1/auth/register', { body: { email: victim.email, password: 'some long password' }, ip: freshIp() });
    }
    const login = await call('/api/v1/auth/login', { body: { email: victim.email, password: victim.password }, ip: freshIp() });
    expect(login.status).toBe(200);
  });
});

describe('auth tier and schema validation', () => {
  it('does not spend the budget on requests refused by schema validation, but does on wrong passwords', async () => {
    const ip = freshIp();
    const victim = await registerUser();
    for (let i = 0; i < 8; i++) {
      const res = await call('/api/v1/auth/login', { body: { email: 'not-an-email', password: '' }, ip });
      expect(res.status).toBe(400);
    }
    for (let i = 0; i < 5; i++) {
      expect((await call('/api/v1/auth/login', { body: { email: victim.email, password: `wrong password ${i}` }, ip })).status).toBe(401);
    }
    expect((await call('/api/v1/auth/login', { body: { email: victim.email, password: 'wrong password 6' }, ip })).status).toBe(429);
  });
});

describe('auth tier audit', () => {
  it('records an auth-tier refusal in the audit log', async () => {
    const ip = freshIp();
    for (let i = 0; i < 6; i += 1) await call('/api/v1/auth/login', { body: wrongLogin(freshEmail()), ip });
    const deadline = Date.now() + 5000;
    let n = 0;
    while (Date.now() < deadline) {
      n = (await env.LOGS_DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE action = 'rate_limit.exceeded' AND ip = ?1").bind(ip).first<number>('n')) ?? 0;
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(n).toBe(1);
  });
});
