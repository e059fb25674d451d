import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { clearOfStepBoundary } from '../../helpers/totp';
import { errorCode, me } from '../../helpers/users';
import { SoftAuthenticator, type Ceremony } from '../../helpers/webauthn';

type User = Awaited<ReturnType<typeof registerUser>>;
type Mfa = { token: string; expiresIn: number; methods: string[] };
type Options = { options: { challenge: string; rpId: string; userVerification: string; allowCredentials: { id: string }[] } };

const step = () => Math.floor(Date.now() / 30_000);
const codeAt = (secret: string, offset: number) => generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step() + offset), 6);

async function addPasskey(u: User, auth = new SoftAuthenticator()): Promise<SoftAuthenticator> {
  const opts = await json<{ challengeId: string; options: { challenge: string; user: { id: string } } }>(await call('/api/v1/auth/passkeys/register/options', { method: 'POST', token: u.accessToken }));
  const res = await call('/api/v1/auth/passkeys/register/verify', { body: { challengeId: opts.challengeId, credential: await auth.create(opts.options) }, token: u.accessToken, ip: freshIp() });
  expect(res.status).toBe(201);
  return auth;
}

async function enableTotp(u: User): Promise<string> {
  const setup = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
  const { secret } = await json<{ secret: string }>(setup);
  await clearOfStepBoundary();
  expect((await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: codeAt(secret, -1) }, ip: freshIp() })).status).toBe(200);
  return secret;
}

/** A user with TOTP on and one passkey. */
async function enrolled() {
  const u = await registerUser();
  const auth = await addPasskey(u);
  const secret = await enableTotp(u);
  return { u, auth, secret };
}

const login = (u: User, mfaCode?: string) => call('/api/v1/auth/login', { body: { email: u.email, password: u.password, ...(mfaCode ? { mfaCode } : {}) }, ip: freshIp() });

/** Password login up to MFA_REQUIRED: the MFA challenge it carries. */
async function mfaChallenge(u: User): Promise<Mfa> {
  const res = await login(u);
  expect(res.status).toBe(401);
  const body = await json<{ error: { code: string; mfa?: Mfa } }>(res);
  expect(body.error.code).toBe('MFA_REQUIRED');
  expect(body.error.mfa).toBeDefined();
  return body.error.mfa!;
}

async function options(token: string): Promise<Options> {
  const res = await call('/api/v1/auth/mfa/passkey/options', { body: { mfaToken: token }, ip: freshIp() });
  expect(res.status).toBe(200);
  return json<Options>(res);
}

const verify = async (token: string, credential: unknown) => call('/api/v1/auth/mfa/passkey/verify', { body: { mfaToken: token, credential }, ip: freshIp() });

async function secondFactor(u: User, auth: SoftAuthenticator, c: Ceremony = {}) {
  const mfa = await mfaChallenge(u);
  const o = await options(mfa.token);
  return verify(mfa.token, await auth.get(o.options, c));
}

const auditRows = (targetId: string) =>
  env.LOGS_DB.prepare("SELECT outcome, level, details FROM audit_logs WHERE target_id = ? AND action = 'auth.login' ORDER BY occurred_at").bind(targetId).all<{ outcome: string; level: string; details: string }>();

describe('a passkey as the second factor of a password login', () => {
  it('completes the login with an assertion (user verification not required), once', async () => {
    const { u, auth } = await enrolled();
    const mfa = await mfaChallenge(u);
    expect(mfa.methods).toEqual(['totp', 'recovery_code', 'passkey']);
    expect(mfa.expiresIn).toBe(300);
    const o = await options(mfa.token);
    expect(o.options.allowCredentials.map((c) => c.id)).toEqual([auth.id]);
    expect(o.options.userVerification).toBe('preferred');
    expect(o.options.rpId).toBe('localhost');
    // UP only (a touch, no PIN): enough after the password.
    const res = await verify(mfa.token, await auth.get(o.options, { flags: 0x01 }));
    expect(res.status).toBe(200);
    const pair = await json<{ user: { id: string }; accessToken: string; deviceToken: string }>(res);
    expect(pair.user.id).toBe(u.user.id);
    expect(pair.deviceToken).toBeTruthy();
    expect((await me(pair.accessToken)).status).toBe(200);
    // The token is stored only as a hash.
    const stored = await env.AUTH_DB.prepare('SELECT token_hash FROM mfa_challenges WHERE token_hash = ?').bind(mfa.token).first();
    expect(stored).toBeNull();
    await vi.waitFor(
      async () => {
        const rows = (await auditRows(u.user.id)).results.filter((r) => r.outcome === 'success' && JSON.parse(r.details).secondFactor === 'passkey');
        expect(rows).toHaveLength(1);
      },
      { timeout: 8000, interval: 100 },
    );
  });

  it('refuses a replayed challenge: the spent token gives neither a session nor new options', async () => {
    const { u, auth } = await enrolled();
    const mfa = await mfaChallenge(u);
    const credential = await auth.get((await options(mfa.token)).options);
    expect((await verify(mfa.token, credential)).status).toBe(200);
    const replay = await verify(mfa.token, credential);
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe('PASSKEY_REJECTED');
    const again = await call('/api/v1/auth/mfa/passkey/options', { body: { mfaToken: mfa.token }, ip: freshIp() });
    expect(again.status).toBe(401);
    expect(await errorCode(again)).toBe('MFA_CHALLENGE_INVALID');
  });

  it("refuses an assertion made for another login's challenge", async () => {
    const { u, auth } = await enrolled();
    const first = await mfaChallenge(u);
    const second = await mfaChallenge(u);
    const firstOptions = await options(first.token);
    await options(second.token);
    const forFirst = await auth.get(firstOptions.options);
    const crossed = await verify(second.token, forFirst);
    expect(crossed.status).toBe(401);
    expect(await errorCode(crossed)).toBe('PASSKEY_REJECTED');
    // The refusal moved no counter: the same authenticator finishes its own login.
    expect((await verify(first.token, await auth.get(firstOptions.options))).status).toBe(200);
  });

  it("refuses another user's credential, and the attempt spends the challenge", async () => {
    const { u, auth } = await enrolled();
    const other = await registerUser();
    const stranger = await addPasskey(other);
    const mfa = await mfaChallenge(u);
    const o = await options(mfa.token);
    const res = await verify(mfa.token, await stranger.get(o.options));
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('PASSKEY_REJECTED');
    // One password proof, one try: the right passkey now needs a new login.
    expect((await verify(mfa.token, await auth.get(o.options))).status).toBe(401);
    // The other user's passkey still signs them in on its own (its counter did not move).
    const lo = await json<{ challengeId: string; options: { challenge: string } }>(await call('/api/v1/auth/passkeys/login/options', { method: 'POST', ip: freshIp() }));
    const own = await call('/api/v1/auth/passkeys/login/verify', { body: { challengeId: lo.challengeId, credential: await stranger.get(lo.options) }, ip: freshIp() });
    expect(own.status).toBe(200);
    await vi.waitFor(
      async () => {
        const rows = (await auditRows(u.user.id)).results.filter((r) => r.outcome === 'failure' && JSON.parse(r.details).cause === 'credential not registered to this user');
        expect(rows).toHaveLength(1);
      },
      { timeout: 8000, interval: 100 },
    );
  });

  it('refuses a signature counter regression (a cloned authenticator) and audits it as an error', async () => {
    const { u, auth } = await enrolled();
    expect((await secondFactor(u, auth, { counter: 10 })).status).toBe(200);
    expect((await secondFactor(u, auth, { counter: 10 })).status).toBe(401);
    expect((await secondFactor(u, auth, { counter: 4 })).status).toBe(401);
    expect((await secondFactor(u, auth, { counter: 11 })).status).toBe(200);
    await vi.waitFor(
      async () => {
        const rows = (await auditRows(u.user.id)).results.filter((r) => r.level === 'error');
        expect(rows.map((r) => JSON.parse(r.details).cause)).toEqual(['counter regression', 'counter regression']);
      },
      { timeout: 8000, interval: 100 },
    );
  });

  it('refuses an expired challenge, a verify without options, a wrong origin and an unknown token', async () => {
    const { u, auth } = await enrolled();
    const expired = await mfaChallenge(u);
    const o = await options(expired.token);
    await env.AUTH_DB.prepare('UPDATE mfa_challenges SET expires_at = 1 WHERE used_at IS NULL').run();
    expect((await verify(expired.token, await auth.get(o.options))).status).toBe(401);
    const bare = await mfaChallenge(u);
    expect((await verify(bare.token, await auth.get({ challenge: o.options.challenge }))).status).toBe(401);
    const wrongOrigin = await mfaChallenge(u);
    expect((await verify(wrongOrigin.token, await auth.get((await options(wrongOrigin.token)).options, { origin: 'https://evil.example' }))).status).toBe(401);
    const unknown = await call('/api/v1/auth/mfa/passkey/options', { body: { mfaToken: 'A'.repeat(43) }, ip: freshIp() });
    expect(await errorCode(unknown)).toBe('MFA_CHALLENGE_INVALID');
    const invalid = await call('/api/v1/auth/mfa/passkey/options', { body: { mfaToken: 'not base64url!' }, ip: freshIp() });
    expect(invalid.status).toBe(400);
  });

  it('gives no MFA challenge without the right password', async () => {
    const { u } = await enrolled();
    const res = await call('/api/v1/auth/login', { body: { email: u.email, password: 'wrong password here' }, ip: freshIp() });
    const body = await json<{ error: Record<string, unknown> }>(res);
    expect(body.error.code).toBe('INVALID_CREDENTIALS');
    expect(body.error).not.toHaveProperty('mfa');
  });
});

describe('the TOTP path beside it', () => {
  it('is unchanged for an account without a passkey: the same MFA_REQUIRED envelope, the code completes', async () => {
    const u = await registerUser();
    const secret = await enableTotp(u);
    const res = await login(u);
    expect(res.status).toBe(401);
    const body = await json<{ error: Record<string, unknown> }>(res);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
    expect(body.error.code).toBe('MFA_REQUIRED');
    expect((await login(u, codeAt(secret, 0))).status).toBe(200);
    expect(await env.AUTH_DB.prepare('SELECT count(*) AS n FROM mfa_challenges m JOIN users u ON u.id = m.user_id WHERE u.public_id = ?').bind(u.user.id).first('n')).toBe(0);
  });

  it('still accepts the code when the account also holds a passkey', async () => {
    const { u, secret } = await enrolled();
    await mfaChallenge(u);
    expect((await login(u, codeAt(secret, 0))).status).toBe(200);
    expect(await errorCode(await login(u, '123456'))).toBe('INVALID_MFA_CODE');
  });
});

describe('what turns two-factor on', () => {
  it('a passkey alone does not: the password signs in, the passkey stays a sign-in credential', async () => {
    const u = await registerUser();
    await addPasskey(u);
    expect((await login(u)).status).toBe(200);
    expect(await json<{ enabled: boolean }>(await call('/api/v1/auth/mfa', { token: u.accessToken }))).toMatchObject({ enabled: false });
  });

  it('turning TOTP off turns two-factor off, passkeys left or not', async () => {
    const { u, secret } = await enrolled();
    const off = await call('/api/v1/auth/mfa/totp/disable', { token: u.accessToken, body: { password: u.password, code: codeAt(secret, 0) }, ip: freshIp() });
    expect(off.status).toBe(204);
    expect((await login(u)).status).toBe(200);
  });
});
