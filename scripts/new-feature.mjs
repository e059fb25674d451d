#!/usr/bin/env node
// npm run new:feature -- <name> [--singular <word>] [--no-migration]
// Scaffolds a CRUD resource in the shape every feature has (docs/adding-a-resource.md): routes,
// service, schemas, errors, an APP_DB table with its generated migration, the mount line in
// src/app.ts and a test file. `<name>` is the URL segment: lowercase, plural, kebab-case
// (`projects`, `work-items`). Nothing else needs a hand edit: the permissions reach admins by
// rule, the audit actions and error codes are registered by the feature, the table is purged
// with its owner's account because its owner column is a userRef().
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const noMigration = args.includes('--no-migration');
const singularArg = flag('--singular');
const kebab = args.find((a) => !a.startsWith('--'));

function fail(message) {
  console.error(`new:feature: ${message}`);
  process.exit(1);
}

if (!kebab || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(kebab)) fail('usage: npm run new:feature -- <name> (lowercase kebab-case plural, e.g. projects, work-items)');
const singularKebab = singularArg ?? (kebab.endsWith('ies') ? `${kebab.slice(0, -3)}y` : kebab.endsWith('s') ? kebab.slice(0, -1) : fail('the name should be plural (or pass --singular <word>)'));
const words = (s) => s.split('-');
const pascal = (s) => words(s).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
const camel = (s) => pascal(s)[0].toLowerCase() + pascal(s).slice(1);
const snake = (s) => words(s).join('_');

const names = {
  __kebab__: kebab,
  __camel__: camel(kebab),
  __table__: camel(kebab),
  __snake__: snake(kebab),
  __snake1__: snake(singularKebab),
  __PascalPlural__: pascal(kebab),
  __Pascal__: pascal(singularKebab),
  __UPPER__: snake(singularKebab).toUpperCase(),
  __words__: words(kebab).join(' '),
  __words1__: words(singularKebab).join(' '),
  __name__: kebab,
};
const fill = (text) => Object.entries(names).reduce((t, [k, v]) => t.split(k).join(v), text);
const template = (file) => fill(readFileSync(join(root, 'scripts/new-feature', file), 'utf8'));

const featureDir = join(root, 'src/features', kebab);
const schemaFile = join(root, 'src/db/schema/app.ts');
const appFile = join(root, 'src/app.ts');
if (existsSync(featureDir)) fail(`src/features/${kebab} already exists`);
const schema = readFileSync(schemaFile, 'utf8');
if (new RegExp(`sqliteTable\\(\\s*'${names.__snake__}'`).test(schema)) fail(`APP_DB already has a table ${names.__snake__}`);
const app = readFileSync(appFile, 'utf8');
if (app.includes(`.route('/${kebab}',`)) fail(`src/app.ts already mounts /${kebab}`);

// 1. The feature's files.
mkdirSync(featureDir, { recursive: true });
for (const part of ['routes', 'service', 'schemas', 'errors']) writeFileSync(join(featureDir, `${kebab}.${part}.ts`), template(`${part}.ts.tmpl`));

// 2. Its table, in the APP_DB schema (drizzle-kit reads one schema file per database).
writeFileSync(schemaFile, schema.trimEnd() + '\n' + template('table.ts.tmpl'));

// 3. The mount line: a route's folder is found from its URL in app.ts.
const anchor = "  .route('/health', healthRoutes)";
if (!app.includes(anchor)) fail(`src/app.ts: cannot find the line "${anchor.trim()}" to mount before`);
const lastFeatureImport = [...app.matchAll(/^import .* from '\.\/features\/.*';$/gm)].at(-1);
const importLine = `import { ${names.__camel__}Routes } from './features/${kebab}/${kebab}.routes';`;
let nextApp = app.replace(anchor, `  .route('/${kebab}', ${names.__camel__}Routes)\n${anchor}`);
nextApp = nextApp.replace(lastFeatureImport[0], `${lastFeatureImport[0]}\n${importLine}`);
writeFileSync(appFile, nextApp);

// 4. Its tests.
mkdirSync(join(root, 'test/features', kebab), { recursive: true });
writeFileSync(join(root, 'test/features', kebab, `${kebab}.test.ts`), template('test.ts.tmpl'));

// 5. The migration, generated from the schema (never hand-written).
if (!noMigration) {
  const before = new Set(readdirSync(join(root, 'migrations/app')));
  const run = spawnSync('npx', ['drizzle-kit', 'generate', '--name', names.__snake__], { cwd: root, env: { ...process.env, DRIZZLE_DB: 'app' }, stdio: 'inherit' });
  if (run.status !== 0) fail('drizzle-kit generate failed');
  const added = readdirSync(join(root, 'migrations/app')).filter((f) => !before.has(f));
  console.log(`migration: ${added.map((f) => `migrations/app/${f}`).join(', ') || '(none)'}`);
}

console.log(`
Scaffolded /api/v1/${kebab}:
  src/features/${kebab}/${kebab}.{routes,service,schemas,errors}.ts
  src/db/schema/app.ts            table ${names.__snake__} (owner: userRef, purged with the account)
  src/app.ts                      .route('/${kebab}', ${names.__camel__}Routes)
  test/features/${kebab}/${kebab}.test.ts
Permissions ${kebab}:read and ${kebab}:write (admins hold them by rule; grant them to other roles
through PUT /api/v1/roles/:id). Next: npm run typecheck && npx vitest run test/features/${kebab}
Apply the migration locally with npm run db:migrate:local (tests apply it themselves).`);
