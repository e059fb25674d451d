// Node-side globalSetup: builds public/internal/openapi.json (scripts/build-openapi.mjs, the same
// command wrangler runs before dev and deploy) before the pool serves ./public, so the Worker under
// test serves the document of the code under test. test/app/openapi.test.ts then checks it equals
// the one the registry produces inside workerd.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-openapi.mjs', import.meta.url))], { stdio: 'inherit' });
}
