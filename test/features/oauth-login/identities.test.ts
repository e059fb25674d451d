import { describe, expect, it } from 'vitest';
import { call, freshIp, json, registerUser } from '../../helpers/api';
import { errorCode } from '../../helpers/users';
import { markEmailVerified, oauthCall, signInPair, uniqueEmail, uniqueSub, webSignIn } from './oauth.helpers';

interface Identities {
  data: { id: string; provider: string; email: string | null }[];
}
const list = async (token: string) => json<Identities>(await oauthCall('/api/v1/auth/identities', { token }));
const unlink = (token: string, id: string) => oauthCall(`/api/v1/auth/identities/${id}`, { method: 'DELETE', token });

describe('identities', () => {
  it('refuses to unlink the only way to sign in of a social-only account', async () => {
    const email = uniqueEmail();
    const pair = await signInPair(`${uniqueSub()}|${email}|verified`);
    const { data } = await list(pair.accessToken);
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ provider: 'test', email });
    const res = await unlink(pair.accessToken, data[0]?.id ?? '');
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe('OAUTH_LAST_SIGN_IN_METHOD');
    // It has no password: none signs in to it.
    const login = await call('/api/v1/auth/login', { body: { email, password: '!none' }, ip: freshIp() });
    expect(login.status).toBe(401);
  });

  it('unlinks an identity of an account that has a password, and never another account’s', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const back = await webSignIn(`${uniqueSub()}|${owner.email}|verified`);
    const linked = await oauthCall('/api/v1/auth/identities/link', { body: { linkCode: back.searchParams.get('link_code') }, token: owner.accessToken, ip: freshIp() });
    expect(linked.status).toBe(201);
    const { data } = await list(owner.accessToken);
    expect(data).toHaveLength(1);
    const id = data[0]?.id ?? '';

    const stranger = await registerUser();
    expect((await unlink(stranger.accessToken, id)).status).toBe(404);

    expect((await unlink(owner.accessToken, id)).status).toBe(204);
    expect((await list(owner.accessToken)).data).toHaveLength(0);
    expect((await unlink(owner.accessToken, id)).status).toBe(404);
  });

  it('spends a link code once', async () => {
    const owner = await registerUser();
    await markEmailVerified(owner.email);
    const back = await webSignIn(`${uniqueSub()}|${owner.email}|verified`);
    const linkCode = back.searchParams.get('link_code');
    expect((await oauthCall('/api/v1/auth/identities/link', { body: { linkCode }, token: owner.accessToken, ip: freshIp() })).status).toBe(201);
    const again = await oauthCall('/api/v1/auth/identities/link', { body: { linkCode }, token: owner.accessToken, ip: freshIp() });
    expect(again.status).toBe(409);
  });

  it('requires a signed-in caller', async () => {
    expect((await oauthCall('/api/v1/auth/identities')).status).toBe(401);
  });
});
