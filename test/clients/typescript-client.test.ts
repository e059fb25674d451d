/// <reference types="vite/client" />
// The typed client (clients/typescript) against the Worker itself: the README example runs as
// written, errors arrive typed in the envelope, and the compiler refuses what the API does not
// declare (the @ts-expect-error lines fail typecheck if the client ever accepts them).
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { example } from '../../clients/typescript/example';
import { createAppClient } from '../../clients/typescript/src/index';
import { BASE, freshIp } from '../helpers/api';

const exampleSource = import.meta.glob('../../clients/typescript/example.ts', { query: '?raw', import: 'default', eager: true });
const readmeSource = import.meta.glob('../../clients/typescript/README.md', { query: '?raw', import: 'default', eager: true });

/** The Worker in this test run, as the client's fetch; one client IP per client. */
function workerFetch(ip = freshIp()) {
  return (input: Request) => {
    const request = new Request(input);
    request.headers.set('CF-Connecting-IP', ip);
    return exports.default.fetch(request);
  };
}

describe('typed client (clients/typescript)', () => {
  it('runs the README example: register, me, refresh', async () => {
    const email = `client-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const { me, pair } = await example({ baseUrl: BASE, fetch: workerFetch() }, email);
    expect(me.email).toBe(email);
    expect(me.fullName).toBe('Ada Lovelace');
    expect(pair.user.id).toBe(me.id);
    expect(pair.refreshToken).toEqual(expect.any(String));
    // The rotated token works with the same client; the access token from refresh is accepted.
    const api = createAppClient({ baseUrl: BASE, fetch: workerFetch(), accessToken: pair.accessToken });
    const again = await api.GET('/api/v1/users/me');
    expect(again.response.status).toBe(200);
    expect(again.data?.id).toBe(me.id);
  });

  it('returns the error envelope typed, and sends no token after setAccessToken(undefined)', async () => {
    const api = createAppClient({ baseUrl: `${BASE}/`, fetch: workerFetch(), accessToken: 'not-a-jwt' });
    const bad = await api.GET('/api/v1/users/me');
    expect(bad.response.status).toBe(401);
    expect(bad.error?.error.code).toBe('INVALID_TOKEN');
    api.setAccessToken(undefined);
    const none = await api.GET('/api/v1/users/me');
    expect(none.response.status).toBe(401);
    expect(none.error?.error.code).toBe('UNAUTHENTICATED');
    const login = await api.POST('/api/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password here' } });
    expect(login.response.status).toBe(401);
    expect(login.error?.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('refuses at compile time what the API does not declare', () => {
    const api = createAppClient({ baseUrl: BASE, fetch: workerFetch() });
    const never = () => {
      // @ts-expect-error: no such path
      void api.GET('/api/v1/no-such-route');
      // @ts-expect-error: register needs a password
      void api.POST('/api/v1/auth/register', { body: { email: 'a@example.com' } });
      // @ts-expect-error: /users/:id takes a path parameter
      void api.GET('/api/v1/users/{id}', {});
    };
    expect(typeof never).toBe('function');
  });

  it('shows in its README exactly the example the suite runs', () => {
    const source = Object.values(exampleSource)[0] as string;
    const readme = Object.values(readmeSource)[0] as string;
    expect(source).toContain("api.POST('/api/v1/auth/refresh'");
    expect(readme).toContain(source.trim());
  });
});
