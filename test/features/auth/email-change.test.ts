import { describe, expect, it, vi } from 'vitest';
import { recordedMessages } from '../../../src/features/notifications/channels/recording';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode, me } from '../../helpers/users';

async function mailedChangeToken(to: string): Promise<string> {
  return vi.waitFor(
    () => {
      const mail = recordedMessages((m) => m.channel === 'email' && m.to === to && /new email/i.test(m.title)).at(-1);
      const token = mail && /code: ([A-Za-z0-9_-]{43})/.exec(mail.body)?.[1];
      if (!token) throw new Error('no mail yet');
      return token;
    },
    { timeout: 8000, interval: 100 },
  );
}

const newAddress = () => `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;

describe('email change', () => {
  it('changes the email only after the new address confirms, and marks it verified', async () => {
    const u = await registerUser();
    const target = newAddress();
    const res = await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail: ` ${target.toUpperCase()} `, password: u.password }, ip: freshIp() });
    expect(res.status).toBe(202);
    expect((await json<{ email: string }>(await me(u.accessToken))).email).toBe(u.email);
    const token = await mailedChangeToken(target);
    expect((await call('/api/v1/auth/email/change/confirm', { body: { token }, ip: freshIp() })).status).toBe(204);
    const after = await json<{ email: string; emailVerified: boolean }>(await me(u.accessToken));
    expect(after).toMatchObject({ email: target, emailVerified: true });
    expect((await call('/api/v1/auth/login', { body: { email: target, password: u.password }, ip: freshIp() })).status).toBe(200);
    expect((await call('/api/v1/auth/login', { body: { email: u.email, password: u.password }, ip: freshIp() })).status).toBe(401);
    expect((await call('/api/v1/auth/email/change/confirm', { body: { token }, ip: freshIp() })).status).toBe(400);
  });

  it('needs the password, refuses a taken address and the current one', async () => {
    const u = await registerUser();
    const other = await registerUser();
    const wrong = await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail: newAddress(), password: 'not the password' }, ip: freshIp() });
    expect(wrong.status).toBe(400);
    const taken = await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail: other.email, password: u.password }, ip: freshIp() });
    expect(taken.status).toBe(409);
    expect(await errorCode(taken)).toBe('EMAIL_TAKEN');
    const same = await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail: u.email, password: u.password }, ip: freshIp() });
    expect(same.status).toBe(400);
    expect((await call('/api/v1/auth/email/change', { body: { newEmail: newAddress(), password: u.password }, ip: freshIp() })).status).toBe(401);
  });

  it('refuses the switch when someone registered the address in the meantime', async () => {
    const u = await registerUser();
    const target = newAddress();
    await call('/api/v1/auth/email/change', { token: u.accessToken, body: { newEmail: target, password: u.password }, ip: freshIp() });
    const token = await mailedChangeToken(target);
    await registerUser({ email: target });
    const res = await call('/api/v1/auth/email/change/confirm', { body: { token }, ip: freshIp() });
    expect(res.status).toBe(409);
    expect((await json<{ email: string }>(await me(u.accessToken))).email).toBe(u.email);
  });
});
