// Builds the OpenAPI document in Node, without starting the Worker, and lints it with Redocly:
//   node scripts/openapi-lint.mjs [--out openapi.json]
// The document comes from the route registry (scripts/lib/openapi-document.mjs). Rules: redocly.yaml.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadOpenApiDocument } from './lib/openapi-document.mjs';

const REDOCLY = '@redocly/cli@2.77.0';
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : null;

const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
try {
  const openApiDocument = await loadOpenApiDocument(root);
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const documentPath = out ?? join(dir, 'openapi.json');
  writeFileSync(documentPath, `${JSON.stringify(openApiDocument(version), null, 2)}\n`);
  console.log(`openapi-lint: ${Object.keys(openApiDocument(version).paths).length} paths → ${documentPath}`);

  // node_modules/.bin first: Redocly runs on the project's Node 22, not whatever is on PATH.
  const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
  const lint = spawnSync('npx', ['--yes', REDOCLY, 'lint', documentPath, '--config', join(root, 'redocly.yaml'), '--format', 'stylish'], { cwd: root, env, stdio: 'inherit' });
  process.exitCode = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
