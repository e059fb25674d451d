// What the bench measures: the fixture user (registered through the API), the table's rows and
// the refresh-token pool. Each row names a Worker of the instance and one request shape.
import { randomBytes, randomUUID } from 'node:crypto';
import { sequentialClient } from './load.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
const API = '/api/v1';

/**
 * Vars that switch the rate limiter off in the `app-nolimit` copy (src/lib/config.ts: honoured
 * only when APP_ENV is "development", which the top level of wrangler.toml sets).
 */
export const LIMITER_OFF_VARS = { RATE_LIMIT_BYPASS: 'true' };

/** Distinct auth-tier keys cycled by the cheap auth rows (see `authVary`). */
export const AUTH_KEYS = 64;

/** Distinct documentation-range client IPs (RFC 5737), one per call. */
export function ipSequence(prefix = '198.51') {
  let i = 0;
  return () => {
    i++;
    return `${prefix}.${(i >> 8) & 255}.${i & 255}`;
  };
}

/** Registers the bench user through the public API and returns its credentials and first pair. */
export async function createFixture(appOrigin) {
  const client = sequentialClient(appOrigin);
  const email = `bench-${randomUUID().slice(0, 8)}@example.com`;
  const password = `Bench-${randomBytes(12).toString('base64url')}-9`;
  try {
    const res = await client.send({
      method: 'POST',
      path: `${API}/auth/register`,
      headers: { ...JSON_HEADERS, 'CF-Connecting-IP': '203.0.113.10' },
      body: JSON.stringify({ email, password, fullName: 'Bench User' }),
    });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text.slice(0, 300)}`);
    const pair = JSON.parse(res.text);
    return { email, password, accessToken: pair.accessToken, refreshToken: pair.refreshToken, userId: pair.user.id };
  } finally {
    client.close();
  }
}

/** Unspent refresh tokens: filled by the login rows and, when short, by extra logins. */
export function tokenPool(appOrigin, fixture) {
  const tokens = [];
  const nextIp = ipSequence('198.18');
  const loginOnce = async (client) => {
    const res = await client.send({
      method: 'POST',
      path: `${API}/auth/login`,
      headers: { ...JSON_HEADERS, 'CF-Connecting-IP': nextIp() },
      body: JSON.stringify({ email: fixture.email, password: fixture.password }),
    });
    if (res.status !== 200) throw new Error(`login for the token pool failed: ${res.status} ${res.text.slice(0, 300)}`);
    tokens.push(JSON.parse(res.text).refreshToken);
  };
  return {
    tokens,
    add: (token) => tokens.push(token),
    take: () => tokens.shift(),
    /** Tops the pool up to `n` tokens with two logins in flight (argon2 is CPU-bound anyway). */
    async ensure(n) {
      const clients = [sequentialClient(appOrigin), sequentialClient(appOrigin)];
      try {
        await Promise.all(
          clients.map(async (client) => {
            while (tokens.length < n) await loginOnce(client);
          }),
        );
      } finally {
        clients.forEach((c) => c.close());
      }
    },
  };
}

/**
 * The auth tier keys per IP and per account and keeps a durable log per key. Hammering one key
 * would grow that log far beyond what the real limit (5 per 15 min) lets it hold, so the cheap
 * auth rows cycle 64 client IPs and 64 accounts, touched once before measuring (`prepare`):
 * the figures are those of existing keys with small logs. `freshAuthVary` gives every request
 * keys never seen before (a Durable Object created per key), the cost a first attempt pays.
 */
function authRequest(ip, email) {
  return {
    headers: { ...JSON_HEADERS, 'CF-Connecting-IP': ip },
    // A registration whose password is the email: it passes the schema, reaches the service
    // and is refused by a business rule before any D1 query or argon2id, and the slot stays
    // spent (schema refusals are refunded, business-rule ones are not). The pair therefore
    // prices exactly what a failed attempt costs the limiter, and little else.
    body: JSON.stringify({ email, password: email }),
  };
}

export function authVary(i) {
  const k = i % AUTH_KEYS;
  return authRequest(`198.51.100.${k}`, `bench-key-${k}@example.com`);
}

let fresh = 0;
export function freshAuthVary() {
  fresh++;
  return authRequest(`198.18.${(fresh >> 8) & 255}.${fresh & 255}`, `bench-new-${fresh}@example.com`);
}

/**
 * Peers' own fixtures: Better Auth's schema and one signed-in user per instance
 * (bench/peers/better-auth.worker.mjs), as the Cookie header each get-session row sends.
 */
export async function setupPeers(urls) {
  const client = sequentialClient(urls['better-auth']);
  try {
    const res = await client.send({ method: 'POST', path: '/setup', headers: {} });
    if (res.status !== 200) throw new Error(`Better Auth setup failed: ${res.status} ${res.text.slice(0, 300)}`);
    const cookies = JSON.parse(res.text);
    if (!/session_data=/.test(cookies.cache)) throw new Error('Better Auth: the cookie-cache instance set no session_data cookie');
    // get-session answers 200 with `null` for an unknown session: check that both rows are signed in.
    for (const prefix of ['d1', 'cache']) {
      const s = await client.send({ method: 'GET', path: `/${prefix}/api/auth/get-session`, headers: { Cookie: cookies[prefix] } });
      if (s.status !== 200 || !JSON.parse(s.text)?.session) throw new Error(`Better Auth get-session (${prefix}) is not signed in: ${s.status} ${s.text.slice(0, 200)}`);
    }
    return { betterAuth: cookies };
  } finally {
    client.close();
  }
}

/**
 * The load rows, in run order. `conns` is the default connection count for throughput rows.
 * `vary(i)` gives the i-th request's headers/body where requests must differ.
 */
export function defineRows({ fixture, pool, conns }) {
  const bearer = { Authorization: `Bearer ${fixture.accessToken}` };
  const loginIps = ipSequence('198.19');
  const loginBody = JSON.stringify({ email: fixture.email, password: fixture.password });
  const cheapAuth = { method: 'POST', path: `${API}/auth/register`, vary: authVary, expectStatus: 400, conns, prepare: AUTH_KEYS };
  return [
    { id: 'const', label: 'baseline: constant JSON (bare Worker)', worker: 'const', path: '/', expectStatus: 200, conns },
    { id: 'hono', label: 'bare Hono route', worker: 'hono', path: '/', expectStatus: 200, conns },
    { id: 'irreducible', label: 'baseline: irreducible (JWT verify + D1 user read)', worker: 'irreducible', path: '/', headers: bearer, expectStatus: 200, conns },
    {
      id: 'irreducible-profile',
      label: 'diagnostic: irreducible + APP_DB profile read',
      worker: 'irreducible',
      path: '/with-profile',
      headers: bearer,
      expectStatus: 200,
      conns,
    },
    { id: 'health', label: 'GET /api/v1/health', worker: 'app', path: `${API}/health`, expectStatus: 200, conns },
    { id: 'me', label: 'GET /api/v1/users/me (hot path, limiter on)', worker: 'app', path: `${API}/users/me`, headers: bearer, expectStatus: 200, conns },
    { id: 'me-nolimit', label: 'GET /api/v1/users/me, limiter off', worker: 'app-nolimit', path: `${API}/users/me`, headers: bearer, expectStatus: 200, conns },
    // `*` matches any current representation: the handler runs, the body is hashed, nothing is sent.
    { id: 'me-304', label: 'GET /api/v1/users/me → 304 (If-None-Match)', worker: 'app', path: `${API}/users/me`, headers: { ...bearer, 'If-None-Match': '*' }, expectStatus: 304, conns },
    // Peer rows: Better Auth 1.7's get-session in the same workerd, read the ratio to `const`.
    { id: 'ba-session', label: 'peer: Better Auth get-session (reads D1)', worker: 'better-auth', peer: true, path: '/d1/api/auth/get-session', headers: { Cookie: fixture.peers.betterAuth.d1 }, expectStatus: 200, conns },
    { id: 'ba-session-cache', label: 'peer: Better Auth get-session, cookie cache', worker: 'better-auth', peer: true, path: '/cache/api/auth/get-session', headers: { Cookie: fixture.peers.betterAuth.cache }, expectStatus: 200, conns },
    { id: 'client-versions', label: 'GET /api/v1/client-versions (public, edge cache)', worker: 'app', path: `${API}/client-versions`, expectStatus: 200, conns },
    { id: 'auth-tier', label: 'POST /auth/register → 400 (auth-tier limiter on)', worker: 'app', ...cheapAuth },
    { id: 'auth-tier-nolimit', label: 'POST /auth/register → 400, limiter off', worker: 'app-nolimit', ...cheapAuth },
    {
      id: 'login',
      label: 'POST /api/v1/auth/login (argon2id)',
      worker: 'app',
      method: 'POST',
      path: `${API}/auth/login`,
      expectStatus: 200,
      // argon2id is synchronous CPU in one isolate: more connections only queue.
      conns: 4,
      vary: () => ({ headers: { ...JSON_HEADERS, 'CF-Connecting-IP': loginIps() }, body: loginBody }),
      // Every successful login opens a session: its refresh token feeds the refresh row.
      onResponse: (status, body) => {
        if (status === 200) pool.add(JSON.parse(body).refreshToken);
      },
    },
    {
      id: 'refresh',
      label: 'POST /api/v1/auth/refresh (rotation)',
      worker: 'app',
      method: 'POST',
      path: `${API}/auth/refresh`,
      expectStatus: 200,
      // Refresh is CPU-bound well below 16 in flight, and every connection needs an unspent
      // token (one argon2id login each) before the run.
      conns: Math.min(conns, 16),
      // A spent token revokes its family, so no token is ever presented twice: each request
      // takes one unspent token from the shared pool and its response puts the rotated one
      // back (autocannon resets per-connection context after every request, so the chain
      // cannot live there). Tokens in flight when a run stops are lost; `before` tops up.
      before: () => pool.ensure(Math.min(conns, 16) + 8),
      requests: () => [
        {
          method: 'POST',
          path: `${API}/auth/refresh`,
          setupRequest: (req) => {
            // Never expected (the pool holds more tokens than connections): a malformed token
            // is counted as unexpected; returning null would make autocannon spin.
            const token = pool.take() ?? 'pool-exhausted';
            return { ...req, headers: { ...JSON_HEADERS, 'CF-Connecting-IP': '203.0.113.30' }, body: JSON.stringify({ refreshToken: token }) };
          },
          onResponse: (status, body) => {
            if (status === 200) pool.add(JSON.parse(body).refreshToken);
          },
        },
      ],
    },
    {
      // Issue 17: what Idempotency-Key costs. Each request a new key and role (the claim row,
      // the work, the stored response) against the same key and body replayed (one lookup).
      id: 'idem-first',
      label: 'POST /api/v1/roles, new Idempotency-Key each (first call), limiter off',
      worker: 'app-nolimit',
      method: 'POST',
      path: `${API}/roles`,
      expectStatus: 201,
      conns: Math.min(conns, 16),
      vary: (i) => ({
        headers: { ...bearer, ...JSON_HEADERS, 'Idempotency-Key': `bench-first-${process.pid}-${i}-${randomUUID()}` },
        body: JSON.stringify({ name: `bench-${randomUUID().slice(0, 18)}`, permissions: ['users:read'] }),
      }),
    },
    {
      id: 'idem-replay',
      label: 'POST /api/v1/roles, same Idempotency-Key and body (replay), limiter off',
      worker: 'app-nolimit',
      method: 'POST',
      path: `${API}/roles`,
      expectStatus: 201,
      conns,
      headers: { ...bearer, ...JSON_HEADERS, 'Idempotency-Key': `bench-replay-${randomUUID()}` },
      body: JSON.stringify({ name: `bench-replay-${randomUUID().slice(0, 8)}`, permissions: ['users:read'] }),
    },
    {
      id: 'search',
      label: `GET /api/v1/search over ${SEARCH_USERS / 1000}k users, limiter off`,
      worker: 'app-nolimit',
      path: `${API}/search?q=ali`,
      headers: bearer,
      expectStatus: 200,
      conns,
      requests: () => {
        let i = 0;
        return [
          {
            method: 'GET',
            path: `${API}/search?q=ali`,
            setupRequest: (req) => ({ ...req, path: `${API}/search?type=users&limit=20&q=${encodeURIComponent(SEARCH_QUERIES[i++ % SEARCH_QUERIES.length])}`, headers: bearer }),
          },
        ];
      },
    },
  ];
}

/** Users in the search row's index (issue 18: "search latency on 10k users"). */
export const SEARCH_USERS = 10_000;
const FIRST = ['Alice', 'Aline', 'Bruno', 'Carla', 'Chen', 'Dmitri', 'Elena', 'Farah', 'Gustav', 'Hana', 'Ingrid', 'Jamal', 'Kenji', 'Lena', 'Marta', 'Nadia', 'Omar', 'Priya', 'Quentin', 'Rosa'];
const LAST = ['Zephyr', 'Almeida', 'Brandt', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Umar', 'Vogel', 'Weber', 'Yilmaz', 'Zhang'];
/** What the search row asks: one-word and two-word prefixes, from very common to rare. */
export const SEARCH_QUERIES = ['ali', 'ali zeph', 'marta', 'ken tan', 'gus', 'rosa silva', 'el', 'nakamura', 'pri ok', 'user42'];

/**
 * Fills SEARCH_DB with SEARCH_USERS indexed users (the rows the users indexer writes, written
 * directly: registering 10k users through the API would take minutes of argon2id) and makes the
 * bench user an admin (users:read) in AUTH_DB, so GET /search answers it. Idempotent per run.
 */
export async function seedSearch(mf, fixture) {
  const search = await mf.getD1Database('SEARCH_DB', 'app');
  const auth = await mf.getD1Database('AUTH_DB', 'app');
  const now = Date.now();
  await auth
    .prepare("INSERT OR IGNORE INTO user_roles (public_id, created_at, updated_at, user_id, role_id) SELECT ?1, ?2, ?2, u.id, r.id FROM users u, roles r WHERE u.public_id = ?3 AND r.name = 'admin'")
    .bind(randomUUID(), now, fixture.userId)
    .run();
  // One exec per chunk (literal SQL of generated, quote-free values): bound batches of this
  // size do not pass miniflare's Node proxy.
  const CHUNK = 500;
  for (let start = 0; start < SEARCH_USERS; start += CHUNK) {
    const statements = [];
    for (let i = start; i < Math.min(start + CHUNK, SEARCH_USERS); i++) {
      const ref = `bench-user-${i}`;
      const title = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
      statements.push(`INSERT OR IGNORE INTO search_refs (type, ref_id, updated_at) VALUES ('users', '${ref}', ${now});`);
      statements.push(`INSERT INTO search_index (rowid, type, ref_id, title, body) SELECT id, type, ref_id, '${title}', 'user${i}@example.com' FROM search_refs WHERE type = 'users' AND ref_id = '${ref}';`);
    }
    await search.exec(statements.join('\n'));
  }
}

/** The autocannon request sequence of a row (undefined: one fixed request). */
export function autocannonRequests(row) {
  if (row.requests) return row.requests();
  if (!row.vary) return undefined;
  let i = 0;
  return [
    {
      method: row.method ?? 'GET',
      path: row.path,
      setupRequest: (req) => {
        const v = row.vary(i++);
        return { ...req, headers: { ...(row.headers ?? {}), ...v.headers }, body: v.body ?? req.body };
      },
      onResponse: row.onResponse,
    },
  ];
}

/** The i-th request of a row for the sequential client. */
export function requestAt(row, i) {
  const v = row.vary?.(i) ?? {};
  return { method: row.method ?? 'GET', path: row.path, headers: { ...(row.headers ?? {}), ...(v.headers ?? {}) }, body: v.body ?? row.body };
}
