// Node-side globalSetup: a local server imitating Sign in with Apple at the HTTP boundary, so the
// provider `apple` is tested over real HTTP from inside workerd: its discovery and JWKS, the
// authorization endpoint with response_mode=form_post, and a token endpoint that verifies the
// client secret JWT (ES256, with the public half of a key generated here) as Apple does.
//
//   GET  /.well-known/openid-configuration, /auth/keys → discovery (issuer = this origin), JWKS
//   GET  /auth/authorize                → 200 "sign-in page" (the test approves through /__approve)
//   POST /__approve {url, user}         → {action, fields}: the form Apple's page auto-submits to
//                                         redirect_uri (code, state, and `user` on a first sign-in)
//   POST /auth/token                    → tokens; `invalid_client` unless client_secret is an ES256
//                                         JWT by the team's key: kid, iss=team, sub=client_id,
//                                         aud=https://appleid.apple.com, exp ≤ iat + 6 months;
//                                         `invalid_grant` unless code, redirect_uri and PKCE match
//   GET  /__secrets                     → the client secrets the token endpoint accepted, in order
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportPKCS8, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import type { TestProject } from 'vitest/node';

export interface AppleTestUser {
  sub: string;
  email?: string;
  /** As Apple writes it: often the string "true". */
  emailVerified?: boolean | 'true' | 'false';
  isPrivateEmail?: boolean | 'true' | 'false';
  /** Apple posts `user` (name, email) on the first authorization only. */
  firstName?: string;
  lastName?: string;
  /** Puts another nonce in the id_token (a token minted for another flow). */
  nonce?: string;
}

export interface AppleTestServer {
  origin: string;
  clientId: string;
  teamId: string;
  keyId: string;
  /** The team's private key, PKCS #8 PEM like the .p8 Apple hands out. */
  privateKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    apple: AppleTestServer;
  }
}

const CLIENT_ID = 'com.example.ubr.web';
const TEAM_ID = 'TEAMID1234';
const KEY_ID = 'KEYID56789';
const AUD = 'https://appleid.apple.com';
const SIX_MONTHS = 15_777_000;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => resolve(raw));
  });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const team = await generateKeyPair('ES256', { extractable: true });
  const teamPublic = await exportJWK(team.publicKey);
  const signing = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'apple-test-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { user: AppleTestUser; challenge: string; redirectUri: string; nonce: string }>();
  const accepted: string[] = [];
  let origin = '';

  async function clientSecretOk(secret: string, clientId: string): Promise<string | null> {
    try {
      const { payload, protectedHeader } = await jwtVerify(secret, await importJWK(teamPublic, 'ES256'), { algorithms: ['ES256'], issuer: TEAM_ID, audience: AUD, subject: clientId });
      if (protectedHeader.kid !== KEY_ID) return 'kid';
      if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp - payload.iat > SIX_MONTHS) return 'lifetime';
      return null;
    } catch (err) {
      return (err as { code?: string }).code ?? 'invalid';
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: origin,
          authorization_endpoint: `${origin}/auth/authorize`,
          token_endpoint: `${origin}/auth/token`,
          revocation_endpoint: `${origin}/auth/revoke`,
          jwks_uri: `${origin}/auth/keys`,
          response_types_supported: ['code'],
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid', 'email', 'name'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      }
      if (req.method === 'GET' && url.pathname === '/auth/keys') return send(200, { keys: [jwk] });
      if (req.method === 'GET' && url.pathname === '/auth/authorize') return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Sign in with Apple</p>');
      if (req.method === 'POST' && url.pathname === '/__approve') {
        const { url: authorizeUrl, user } = JSON.parse(await readBody(req)) as { url: string; user: AppleTestUser };
        const q = new URL(authorizeUrl).searchParams;
        // Apple: scopes (name, email) require form_post.
        const ok = q.get('client_id') === CLIENT_ID && q.get('response_type') === 'code' && q.get('response_mode') === 'form_post' && q.get('code_challenge_method') === 'S256' && q.get('code_challenge') && q.get('nonce');
        if (!ok) return send(400, { error: 'invalid_request' });
        const code = `c${randomBytes(12).toString('hex')}.0.ubr`;
        codes.set(code, { user, challenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri') ?? '', nonce: user.nonce ?? q.get('nonce') ?? '' });
        const fields: Record<string, string> = { state: q.get('state') ?? '', code };
        if (user.firstName || user.lastName) fields.user = JSON.stringify({ name: { firstName: user.firstName, lastName: user.lastName }, email: user.email });
        return send(200, { action: q.get('redirect_uri'), fields });
      }
      if (req.method === 'POST' && url.pathname === '/auth/token') {
        const form = new URLSearchParams(await readBody(req));
        const clientId = form.get('client_id') ?? '';
        const refusal = clientId === CLIENT_ID ? await clientSecretOk(form.get('client_secret') ?? '', clientId) : 'client_id';
        if (refusal) return send(400, { error: 'invalid_client', reason: refusal });
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!grant || form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== grant.redirectUri || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
          return send(400, { error: 'invalid_grant' });
        }
        accepted.push(form.get('client_secret') ?? '');
        const { user } = grant;
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({
          nonce: grant.nonce,
          nonce_supported: true,
          auth_time: now,
          ...(user.email ? { email: user.email } : {}),
          ...(user.emailVerified !== undefined ? { email_verified: user.emailVerified } : {}),
          ...(user.isPrivateEmail !== undefined ? { is_private_email: user.isPrivateEmail } : {}),
          real_user_status: 2,
        })
          .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
          .setIssuer(origin)
          .setAudience(CLIENT_ID)
          .setSubject(user.sub)
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .sign(signing.privateKey);
        return send(200, { access_token: `a${randomBytes(12).toString('hex')}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `r${randomBytes(12).toString('hex')}`, id_token: idToken });
      }
      if (req.method === 'GET' && url.pathname === '/__secrets') return send(200, { accepted });
      send(404, { error: 'not_found' });
    })();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  origin = `http://127.0.0.1:${port}`;
  project.provide('apple', { origin, clientId: CLIENT_ID, teamId: TEAM_ID, keyId: KEY_ID, privateKey: await exportPKCS8(team.privateKey) });
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
