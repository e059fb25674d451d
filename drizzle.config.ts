import { defineConfig } from 'drizzle-kit';

// One config for the three databases (separate blast radius, SPEC "Data stores"):
// DRIZZLE_DB=auth|app|logs picks the schema and its migrations folder. `npm run db:generate`
// runs all three. Migrations are applied by `wrangler d1 migrations apply`; never `push` to D1.
const db = process.env.DRIZZLE_DB ?? 'auth';
if (!['auth', 'app', 'logs'].includes(db)) throw new Error(`DRIZZLE_DB must be auth, app or logs (got ${db})`);

export default defineConfig({
  dialect: 'sqlite',
  // AUTH_DB's schema is split by feature area (auth-oauth.ts: the OAuth provider's tables; auth-mfa.ts: two-factor).
  schema: db === 'auth' ? ['./src/db/schema/auth.ts', './src/db/schema/auth-oauth.ts', './src/db/schema/auth-mfa.ts'] : `./src/db/schema/${db}.ts`,
  out: `./migrations/${db}`,
  casing: 'snake_case',
});
