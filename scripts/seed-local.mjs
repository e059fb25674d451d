// Seeds the admin account into the local D1 databases from ADMIN_EMAIL / ADMIN_PASSWORD in
// .dev.vars. Idempotent: an existing account is left as it is (its password is not reset).
// The password is hashed here with the same argon2id build and parameters as the Worker and
// is never printed. Usage: npm run seed:local   (add -- --env staging --remote for a remote DB)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from 'uuidv7';
import { readDevVars } from './lib/dev-vars.mjs';
import { hashPassword, sqlString } from './lib/password-hash.mjs';

const extra = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['--local'];
const vars = { ...readDevVars(), ...process.env };
const email = (vars.ADMIN_EMAIL ?? '').trim().toLowerCase();
const password = vars.ADMIN_PASSWORD ?? '';
if (!email || !password) {
  console.log('ADMIN_EMAIL / ADMIN_PASSWORD not set: no admin seeded.');
  process.exit(0);
}
if (password.length < 8 || password.length > 128) {
  console.error('ADMIN_PASSWORD must be 8-128 characters.');
  process.exit(1);
}

const hash = await hashPassword(password);

const q = sqlString;
const now = Date.now();
const userId = uuidv7();
const dir = mkdtempSync(join(tmpdir(), 'seed-'));

// Profile first (invisible without a user), then the user and its admin role.
const appSql = `INSERT INTO profiles (public_id, created_at, updated_at, user_public_id, full_name)
SELECT ${q(uuidv7())}, ${now}, ${now}, ${q(userId)}, 'Administrator'
WHERE NOT EXISTS (SELECT 1 FROM profiles WHERE user_public_id = ${q(userId)});`;
const authSql = `INSERT INTO users (public_id, created_at, updated_at, email, password_hash)
VALUES (${q(userId)}, ${now}, ${now}, ${q(email)}, ${q(hash)}) ON CONFLICT (email) DO NOTHING;
${['admin', 'user']
  .map(
    (role) => `INSERT INTO user_roles (public_id, created_at, updated_at, user_id, role_id)
SELECT ${q(uuidv7())}, ${now}, ${now}, u.id, r.id FROM users u, roles r
WHERE u.email = ${q(email)} AND r.name = ${q(role)} ON CONFLICT (user_id, role_id) DO NOTHING;`,
  )
  .join('\n')}`;

function execute(db, sqlText) {
  const file = join(dir, `${db}.sql`);
  writeFileSync(file, sqlText, { mode: 0o600 });
  const r = spawnSync('wrangler', ['d1', 'execute', db, ...extra, '--file', file, '--yes'], { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`Seeding ${db} failed.`);
    process.exit(r.status ?? 1);
  }
}

function query(db, sqlText) {
  const r = spawnSync('wrangler', ['d1', 'execute', db, ...extra, '--json', '--command', sqlText], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`query on ${db} failed: ${r.stderr}`);
  return JSON.parse(r.stdout)[0]?.results ?? [];
}

try {
  const existing = query('AUTH_DB', `SELECT public_id FROM users WHERE email = ${q(email)}`);
  if (existing.length > 0) {
    // Already seeded: make sure it still holds the admin role and has a profile (repair path).
    execute('AUTH_DB', authSql);
    const id = existing[0].public_id;
    execute('APP_DB', appSql.replaceAll(q(userId), q(id)));
    console.log('Admin account already present (role and profile checked).');
  } else {
    execute('APP_DB', appSql);
    execute('AUTH_DB', authSql);
    console.log(`Admin account seeded for ${email[0]}***${email.slice(email.indexOf('@'))}.`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
