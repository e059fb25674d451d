// Node-side globalSetup: a local server imitating GitHub at the HTTP boundary (its OAuth 2 web
// endpoints and the REST API parts social sign-in reads), so the GitHub provider is tested over
// real HTTP from inside workerd.
//
//   GET  /login/oauth/authorize        → 200 "consent page" (the test approves through /__approve)
//   POST /__approve {url, user}        → {location}: the redirect GitHub would send, with a code
//                                        bound to the client, redirect_uri and PKCE challenge
//   POST /login/oauth/access_token     → JSON token (client secret, redirect_uri, PKCE S256 checked)
//   GET  /api/user, /api/user/emails   → the approved user's profile and email list (Bearer)
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';

export interface GithubTestUser {
  id: number;
  login: string;
  /** The public profile email: GitHub never verifies it, sign-in must ignore it. */
  profileEmail?: string;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

export interface GithubTestServer {
  origin: string;
  clientId: string;
  clientSecret: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    github: GithubTestServer;
  }
}

const CLIENT_ID = 'Iv1.ubrtestclient';
const CLIENT_SECRET = 'github-test-secret-0123456789';

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => resolve(raw));
  });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const codes = new Map<string, { user: GithubTestUser; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, GithubTestUser>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Authorize app-ubr?</p>');
      if (req.method === 'POST' && url.pathname === '/__approve') {
        const { url: authorizeUrl, user } = JSON.parse(await readBody(req)) as { url: string; user: GithubTestUser };
        const q = new URL(authorizeUrl).searchParams;
        if (q.get('client_id') !== CLIENT_ID || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return send(400, { error: 'bad authorize request' });
        const code = randomBytes(10).toString('hex');
        codes.set(code, { user, challenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri') ?? '' });
        const back = new URL(q.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        return send(200, { location: back.href });
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const form = new URLSearchParams(await readBody(req));
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const ok = grant && form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET && form.get('redirect_uri') === grant.redirectUri && createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
        // GitHub answers errors with 200 and an `error` member.
        if (!ok || !grant) return send(200, { error: 'bad_verification_code' });
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        return send(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      }
      const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (req.method === 'GET' && url.pathname === '/api/user') return user ? send(200, { id: user.id, login: user.login, email: user.profileEmail ?? null }) : send(401, { message: 'Bad credentials' });
      if (req.method === 'GET' && url.pathname === '/api/user/emails') return user ? send(200, user.emails) : send(401, { message: 'Bad credentials' });
      send(404, { message: 'Not Found' });
    })();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  project.provide('github', { origin: `http://127.0.0.1:${port}`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
