// `npm run seed:demo`: demo data in the LOCAL databases, so the list endpoints, search and the
// admin console show something on a fresh clone: 12 users (one soft-deleted, two unverified),
// two custom roles granted to some of them, in-app notifications (read and unread, one failed
// email), audit events and the users' search index. Idempotent (fixed ids, ON CONFLICT DO
// NOTHING): run it again and nothing doubles. Local only: it refuses --remote.
// Every demo user signs in with the password printed at the end (demo data, never production).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, sqlString as q } from './lib/password-hash.mjs';

if (process.argv.some((a) => a === '--remote' || a.startsWith('--env'))) {
  console.error('seed:demo writes demo accounts with a published password: local databases only.');
  process.exit(1);
}

export const DEMO_PASSWORD = 'demo password 2026';
const PEOPLE = [
  ['Ada Lovelace', 'ada'],
  ['Alan Turing', 'alan'],
  ['Grace Hopper', 'grace'],
  ['Katherine Johnson', 'katherine'],
  ['Linus Torvalds', 'linus'],
  ['Margaret Hamilton', 'margaret'],
  ['Dennis Ritchie', 'dennis'],
  ['Barbara Liskov', 'barbara'],
  ['Edsger Dijkstra', 'edsger'],
  ['Frances Allen', 'frances'],
  ['Ken Thompson', 'ken'],
  ['Radia Perlman', 'radia'],
];
const ROLES = [
  { id: '0193d000-0000-7000-8005-000000000001', name: 'support', description: 'Reads users and the audit log (demo)', permissions: ['users:read', 'logs:read', 'notifications:read'] },
  { id: '0193d000-0000-7000-8005-000000000002', name: 'moderator', description: 'Edits and suspends users (demo)', permissions: ['users:read', 'users:write', 'users:delete'] },
];
const DAY = 86_400_000;
const now = Date.now();
const hex = (n, width = 12) => n.toString(16).padStart(width, '0');
const userId = (i) => `0193d000-0000-7000-8000-${hex(i + 1)}`;

const hash = await hashPassword(DEMO_PASSWORD);
const users = PEOPLE.map(([name, handle], i) => ({
  id: userId(i),
  name,
  email: `${handle}@demo.example.com`,
  createdAt: now - (PEOPLE.length - i) * 3 * DAY,
  verified: i % 5 !== 4, // two unverified
  deleted: i === PEOPLE.length - 1, // one soft-deleted: restore it from the console
  roles: ['user', ...(i === 1 ? ['support'] : []), ...(i === 2 ? ['moderator'] : []), ...(i === 3 ? ['support', 'moderator'] : [])],
}));

const auth = [
  ...ROLES.map(
    (r) => `INSERT INTO roles (public_id, created_at, updated_at, name, description, permissions, built_in)
VALUES (${q(r.id)}, ${now}, ${now}, ${q(r.name)}, ${q(r.description)}, ${q(JSON.stringify(r.permissions))}, 0) ON CONFLICT (name) DO NOTHING;`,
  ),
  ...users.map(
    (u) => `INSERT INTO users (public_id, created_at, updated_at, deleted_at, email, password_hash, email_verified_at)
VALUES (${q(u.id)}, ${u.createdAt}, ${u.createdAt}, ${u.deleted ? now - DAY : 'NULL'}, ${q(u.email)}, ${q(hash)}, ${u.verified ? u.createdAt + 60_000 : 'NULL'}) ON CONFLICT DO NOTHING;`,
  ),
  ...users.flatMap((u, i) =>
    u.roles.map(
      (role, k) => `INSERT INTO user_roles (public_id, created_at, updated_at, user_id, role_id)
SELECT ${q(`0193d000-0000-7000-8001-${hex(i * 8 + k)}`)}, ${u.createdAt}, ${u.createdAt}, u.id, r.id FROM users u, roles r
WHERE u.public_id = ${q(u.id)} AND r.name = ${q(role)} ON CONFLICT DO NOTHING;`,
    ),
  ),
];

const notes = users.slice(0, 6).flatMap((u, i) => [
  { user: u, n: i * 3, channel: 'in_app', category: 'transactional', kind: 'welcome', title: `Welcome, ${u.name.split(' ')[0]}`, body: 'Your account is ready.', status: 'delivered', read: i % 2 === 0 },
  { user: u, n: i * 3 + 1, channel: 'in_app', category: 'security', kind: 'new_sign_in', title: 'New sign-in', body: 'A new device signed in to your account.', status: 'delivered', read: false },
  ...(i === 0 ? [{ user: u, n: 99, channel: 'email', category: 'transactional', kind: 'digest', title: 'Weekly digest', body: null, status: 'failed', read: false }] : []),
]);
const app = [
  ...users.map(
    (u, i) => `INSERT INTO profiles (public_id, created_at, updated_at, deleted_at, user_public_id, full_name)
VALUES (${q(`0193d000-0000-7000-8002-${hex(i)}`)}, ${u.createdAt}, ${u.createdAt}, ${u.deleted ? now - DAY : 'NULL'}, ${q(u.id)}, ${q(u.name)}) ON CONFLICT DO NOTHING;`,
  ),
  ...notes.map((x) => {
    const at = x.user.createdAt + DAY + x.n * 60_000;
    return `INSERT INTO notifications (public_id, created_at, updated_at, user_public_id, channel, category, kind, idempotency_key, status, title, body, attempts, delivered_at, failed_at, read_at, reason)
VALUES (${q(`0193d000-0000-7000-8003-${hex(x.n)}`)}, ${at}, ${at}, ${q(x.user.id)}, ${q(x.channel)}, ${q(x.category)}, ${q(x.kind)}, ${q(`demo:${x.n}`)}, ${q(x.status)}, ${q(x.title)}, ${x.body ? q(x.body) : 'NULL'}, 1,
${x.status === 'delivered' ? at : 'NULL'}, ${x.status === 'failed' ? at : 'NULL'}, ${x.read ? at + 3_600_000 : 'NULL'}, ${x.status === 'failed' ? q('demo: provider refused the message') : 'NULL'}) ON CONFLICT DO NOTHING;`;
  }),
];

const events = [
  ...users.map((u) => ({ action: 'auth.register', actor: u.id, target: u.id, at: u.createdAt, outcome: 'success', level: 'info' })),
  ...users.filter((u) => u.roles.length > 1).map((u) => ({ action: 'role.grant', actor: null, target: u.id, at: u.createdAt + DAY, outcome: 'success', level: 'info', details: { roles: u.roles.slice(1) } })),
  ...users.slice(0, 4).map((u, i) => ({ action: 'auth.login', actor: null, target: u.id, at: now - (i + 1) * 3_600_000, outcome: 'failure', level: 'warn', details: { reason: 'invalid_credentials' } })),
  ...users.filter((u) => u.deleted).map((u) => ({ action: 'user.delete', actor: null, target: u.id, at: now - DAY, outcome: 'success', level: 'warn' })),
];
const logs = events.map(
  (e, i) => `INSERT INTO audit_logs (public_id, created_at, updated_at, event_id, occurred_at, level, action, outcome, actor_id, target_id, request_id, ip, user_agent, details)
VALUES (${q(`0193d000-0000-7000-8004-${hex(i)}`)}, ${e.at}, ${e.at}, ${q(`demo-event-${i}`)}, ${e.at}, ${q(e.level)}, ${q(e.action)}, ${q(e.outcome)}, ${e.actor ? q(e.actor) : 'NULL'}, ${q(e.target)}, ${q(`demo-request-${i}`)}, '203.0.113.7', 'seed-demo', ${e.details ? q(JSON.stringify(e.details)) : 'NULL'}) ON CONFLICT DO NOTHING;`,
);

// What the users indexer writes (src/features/users/users.search.ts): live users only.
const search = users
  .filter((u) => !u.deleted)
  .flatMap((u) => [
    `INSERT INTO search_refs (type, ref_id, updated_at) VALUES ('users', ${q(u.id)}, ${now}) ON CONFLICT (type, ref_id) DO NOTHING;`,
    `INSERT INTO search_index (rowid, type, ref_id, title, body) SELECT id, type, ref_id, ${q(u.name)}, ${q(u.email)} FROM search_refs
WHERE type = 'users' AND ref_id = ${q(u.id)} AND NOT EXISTS (SELECT 1 FROM search_index WHERE rowid = search_refs.id);`,
  ]);

const dir = mkdtempSync(join(tmpdir(), 'seed-demo-'));
try {
  for (const [db, statements] of [['AUTH_DB', auth], ['APP_DB', app], ['LOGS_DB', logs], ['SEARCH_DB', search]]) {
    const file = join(dir, `${db}.sql`);
    writeFileSync(file, statements.join('\n'), { mode: 0o600 });
    const r = spawnSync('wrangler', ['d1', 'execute', db, '--local', '--file', file, '--yes'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CI: 'true' } });
    if (r.status !== 0) {
      console.error(`seed:demo: writing ${db} failed (run \`npm run dev\` once first: it applies the migrations).`);
      process.exit(r.status ?? 1);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `Demo data seeded: ${users.length} users (*@demo.example.com, password "${DEMO_PASSWORD}"; ${users.filter((u) => u.deleted).length} soft-deleted), ` +
    `${ROLES.length} roles, ${notes.length} notifications, ${events.length} audit events. Run it again any time: nothing doubles.`,
);
