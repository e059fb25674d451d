// Peer: Better Auth 1.7 (devDependency only; never imported by src/) in the same workerd as the
// bench's bare Worker, over its built-in D1 support (a D1 binding passed as `database`: its
// Kysely adapter picks the D1 dialect). Two instances on one database and one secret:
//   /d1/api/auth/*     sessions read from D1 on every get-session (revocation is immediate)
//   /cache/api/auth/*  session.cookieCache (signed cookie, 5 min): get-session skips D1 while
//                      the cookie is fresh (a revoked session stays usable until it expires)
// POST /setup applies Better Auth's own schema (getMigrations), signs one user up and in through
// each instance and returns the Cookie header each get-session row sends.
/* global Response, crypto */
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';

const instances = new Map();

function options(env, prefix, cookieCache) {
  return {
    database: env.BA_DB,
    secret: env.BETTER_AUTH_SECRET,
    baseURL: 'http://127.0.0.1',
    basePath: `/${prefix}/api/auth`,
    emailAndPassword: { enabled: true },
    session: cookieCache ? { cookieCache: { enabled: true, maxAge: 300 } } : {},
    // The bench is loopback traffic: no origin checks, no telemetry, no rate limiting of its own
    // (our app's limiter is off in the rows it is compared with, except `me`).
    advanced: { disableCSRFCheck: true, disableOriginCheck: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    logger: { disabled: true },
  };
}

function auth(env, prefix) {
  let a = instances.get(prefix);
  if (!a) {
    a = betterAuth(options(env, prefix, prefix === 'cache'));
    instances.set(prefix, a);
  }
  return a;
}

/** `name=value` pairs of every Set-Cookie of a response, as one Cookie header. */
function cookieHeader(res) {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

async function setup(env) {
  const { runMigrations } = await getMigrations(options(env, 'd1', false));
  await runMigrations();
  const email = `peer-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = `Peer-${crypto.randomUUID()}`;
  const up = await auth(env, 'd1').api.signUpEmail({ body: { email, password, name: 'Peer User' }, asResponse: true });
  if (!up.ok) throw new Error(`sign-up ${up.status}: ${await up.text()}`);
  const cookies = {};
  for (const prefix of ['d1', 'cache']) {
    const res = await auth(env, prefix).api.signInEmail({ body: { email, password }, asResponse: true });
    if (!res.ok) throw new Error(`sign-in (${prefix}) ${res.status}: ${await res.text()}`);
    cookies[prefix] = cookieHeader(res);
  }
  return cookies;
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/setup' && request.method === 'POST') return Response.json(await setup(env));
    const prefix = pathname.split('/')[1];
    if (prefix === 'd1' || prefix === 'cache') return auth(env, prefix).handler(request);
    return new Response('not found', { status: 404 });
  },
};
