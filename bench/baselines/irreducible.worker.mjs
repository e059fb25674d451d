// Baseline 2: the hot path's irreducible work and nothing more: verify one EdDSA access JWT with
// jose (alg, iss, aud, exp pinned, as the app does) and read the caller's user row from AUTH_DB
// by its unique key (the token's `sub`). No framework, no middleware, no logging.
// Path /with-profile (a diagnostic row, not a baseline) also reads the profile from APP_DB,
// the second D1 statement GET /users/me runs: it prices that statement on its own.
/* global Response */
import { importJWK, jwtVerify } from 'jose';

let key;

function verifyKey(env) {
  key ??= (async () => {
    const [jwk] = JSON.parse(env.JWT_SIGNING_KEYS);
    return importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA');
  })();
  return key;
}

const USER_SQL = 'SELECT id, public_id, email, email_verified_at, created_at, updated_at FROM users WHERE public_id = ?1 AND deleted_at IS NULL';
const PROFILE_SQL = 'SELECT full_name FROM profiles WHERE user_public_id = ?1';

export default {
  async fetch(request, env) {
    const header = request.headers.get('Authorization') ?? '';
    if (!header.startsWith('Bearer ')) return new Response('{"error":"unauthenticated"}', { status: 401 });
    let payload;
    try {
      ({ payload } = await jwtVerify(header.slice(7), await verifyKey(env), {
        algorithms: ['EdDSA'],
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
      }));
    } catch {
      return new Response('{"error":"invalid_token"}', { status: 401 });
    }
    const row = await env.AUTH_DB.prepare(USER_SQL).bind(payload.sub).first();
    if (!row) return new Response('{"error":"not_found"}', { status: 404 });
    const body = { id: row.public_id, email: row.email, createdAt: row.created_at };
    if (request.url.endsWith('/with-profile')) {
      const profile = await env.APP_DB.prepare(PROFILE_SQL).bind(payload.sub).first();
      body.fullName = profile?.full_name ?? null;
    }
    return Response.json(body);
  },
};
