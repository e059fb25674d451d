import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { clearOfStepBoundary } from '../../helpers/totp';
import { errorCode } from '../../helpers/users';
import { exchange, markEmailVerified, oauthCall, uniqueSub, webSignIn } from './oauth.helpers';

const codeAt = (secret: string, offset: number) => generateHOTP(decodeBase32IgnorePadding(secret), BigInt(Math.floor(Date.now() / 30_000) + offset), 6);

describe('social sign-in and two-factor', () => {
  it('is one factor: an account with TOTP on proves the second at the exchange, and the code survives until it does', async () => {
    const u = await registerUser();
    await markEmailVerified(u.email);
    const setup = await call('/api/v1/auth/mfa/totp/setup', { token: u.accessToken, body: { password: u.password }, ip: freshIp() });
    const { secret } = await json<{ secret: string }>(setup);
    await clearOfStepBoundary();
    const enable = await call('/api/v1/auth/mfa/totp/enable', { token: u.accessToken, body: { code: codeAt(secret, -1) }, ip: freshIp() });
    const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(enable);

    const sub = uniqueSub();
    const pending = await webSignIn(`${sub}|${u.email}|verified`);
    expect((await oauthCall('/api/v1/auth/identities/link', { body: { linkCode: pending.searchParams.get('link_code') }, token: u.accessToken, ip: freshIp() })).status).toBe(201);

    const code = (await webSignIn(`${sub}|${u.email}|verified`)).searchParams.get('code') ?? '';
    const missing = await exchange(code);
    expect(missing.status).toBe(401);
    expect(await errorCode(missing)).toBe('MFA_REQUIRED');
    const wrong = await oauthCall('/api/v1/auth/oauth/exchange', { body: { code, mfaCode: '000000' }, ip: freshIp() });
    expect(await errorCode(wrong)).toBe('INVALID_MFA_CODE');
    const ok = await oauthCall('/api/v1/auth/oauth/exchange', { body: { code, mfaCode: recoveryCodes[0] }, ip: freshIp() });
    expect(ok.status).toBe(200);
  });
});
