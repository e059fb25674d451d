// Writes the OpenAPI document the Worker serves at /api/v1/openapi.json as a static asset,
// public/internal/openapi.json (read through the ASSETS binding; /internal/* is never served to
// the public). Built from the route registry (scripts/lib/openapi-document.mjs), so the Worker
// ships no JSON Schema generator (zod's toJSONSchema and src/features/docs/openapi.ts: ~9 KiB gzip).
//
// Freshness: this runs as wrangler's [build] command (before every `wrangler dev`, `deploy`,
// `deploy --dry-run` and `versions upload`) and as a vitest globalSetup (before every test run),
// and test/app/openapi.test.ts fails when the served document differs from the one the registry
// produces in workerd. The file is generated, not committed (.gitignore).
//
//   node scripts/build-openapi.mjs           write the document
//   node scripts/build-openapi.mjs --check   fail if the file is missing or stale
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadOpenApiDocument } from './lib/openapi-document.mjs';

/** The Worker puts its own APP_VERSION here when it serves the document. */
export const VERSION_PLACEHOLDER = '0.0.0-build';

export async function buildOpenApi(root = resolve(dirname(new URL(import.meta.url).pathname), '..')) {
  const target = join(root, 'public', 'internal', 'openapi.json');
  const text = `${JSON.stringify((await loadOpenApiDocument(root))(VERSION_PLACEHOLDER))}\n`;
  return { target, text };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { target, text } = await buildOpenApi();
  if (process.argv.includes('--check')) {
    let current = null;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing: stale
    }
    if (current !== text) {
      console.error('build-openapi: public/internal/openapi.json is missing or stale: run node scripts/build-openapi.mjs');
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}
