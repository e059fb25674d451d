// Node-side globalSetup: a real OpenID Connect provider (`oidc-provider`, the certified
// implementation) on loopback, so social sign-in is tested against real discovery, JWKS,
// authorization (with its login and consent interactions), PKCE and token endpoints.
//
//   /.well-known/openid-configuration, /jwks, /auth, /token …  → oidc-provider
//   POST /__drive {url}  → plays the browser at the provider: follows its redirects with a
//                          cookie jar, submits the login form (login = accountId) and the
//                          consent form, and answers {location} once the provider redirects
//                          off its own origin (to our callback).
// Accounts: `<sub>|<email>|<verified|unverified>`; the driver logs in as <sub> with that email.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import type { TestProject } from 'vitest/node';

export interface OidcTestServer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The provider's signing key (private), so tests can mint id_tokens it could have issued. */
  signingKey: JWK;
}

declare module 'vitest' {
  export interface ProvidedContext {
    oidc: OidcTestServer;
  }
}

const CLIENT_ID = 'ubr-test-client';
const CLIENT_SECRET = 'ubr-test-secret-0123456789abcdef';
/** The Worker under test serves at BASE (test/helpers/api.ts); the provider name in tests is `test`. */
const REDIRECT_URI = 'http://127.0.0.1:8787/api/v1/auth/oauth/test/callback';

const profiles = new Map<string, { email?: string; verified: boolean }>();

async function drive(origin: string, start: string, account: string): Promise<string> {
  const [login = account, email, verified] = account.split('|');
  profiles.set(login, { email, verified: verified === 'verified' });
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };
  let url = start;
  let method: 'GET' | 'POST' = 'GET';
  let body: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop += 1) {
    const res = await fetch(url, { method, body, redirect: 'manual', headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } });
    remember(res);
    method = 'GET';
    body = undefined;
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location') ?? '', url);
      if (next.origin !== origin) return next.href;
      url = next.href;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
    // An interaction page: submit its form as a browser would.
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page: ${html.slice(0, 300)}`);
    url = new URL(action, url).href;
    method = 'POST';
    body = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
  }
  throw new Error('too many hops at the provider');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['ubr-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Scope claims in the id_token itself (not only at userinfo), as Google and Microsoft do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // oidc-provider makes the account id the `sub`; the email is the one given at the last login.
    findAccount: (_ctx, id) => {
      const profile = profiles.get(id);
      return { accountId: id, claims: () => ({ sub: id, ...(profile?.email ? { email: profile.email, email_verified: profile.verified } : {}) }) };
    },
  });
  const oidcHandler = provider.callback();
  handler = (req, res) => {
    if (req.method === 'POST' && req.url === '/__drive') {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const { url, login } = JSON.parse(raw) as { url: string; login: string };
        drive(issuer, url, login).then(
          (location) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ location })),
          (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) })),
        );
      });
      return;
    }
    void oidcHandler(req, res);
  };

  project.provide('oidc', { issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, signingKey });
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
