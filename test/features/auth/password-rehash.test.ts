import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD_PARAMS, verifyPassword } from '../../../src/security/password';
import { call, freshIp, registerUser } from '../../helpers/api';
import { argon2idPhc, b64std } from '../../helpers/tokens';

const login = (email: string, password: string) => call('/api/v1/auth/login', { body: { email, password }, ip: freshIp() });

const storedHash = async (publicId: string) =>
  (await env.AUTH_DB.prepare('SELECT password_hash FROM users WHERE public_id = ?').bind(publicId).first<{ password_hash: string }>())!.password_hash;

// Salt bytes whose base64url has "-" and "_" (base64: "+" and "/"), so the old encoding shows.
const SYMBOL_SALT = b64std(Uint8Array.from([0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));

describe('password hash encoding on login', () => {
  it('rewrites a base64url hash at the current parameters as a standard PHC string on the next successful login', async () => {
    const password = 'written in base64url once';
    const user = await registerUser({ password });
    const legacy = await argon2idPhc(password, PASSWORD_PARAMS, SYMBOL_SALT, 'base64url');
    expect(legacy).toMatch(/\$----____/);
    await env.AUTH_DB.prepare('UPDATE users SET password_hash = ? WHERE public_id = ?').bind(legacy, user.user.id).run();

    expect((await login(user.email, 'not the password at all')).status).toBe(401);
    expect(await storedHash(user.user.id)).toBe(legacy); // a failure never rewrites it

    expect((await login(user.email, password)).status).toBe(200);
    const rewritten = await storedHash(user.user.id);
    expect(rewritten).not.toBe(legacy);
    expect(rewritten).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(password, rewritten)).toBe(true);

    expect((await login(user.email, password)).status).toBe(200);
    expect(await storedHash(user.user.id)).toBe(rewritten); // standard encoding: left alone
  });
});
