// The OpenAPI document, built in Node from the route registry without starting the Worker.
// The route modules are bundled with esbuild (wrangler's own bundler, already installed) and
// evaluated with stubs for what only workerd has (cloudflare:* modules, .wasm imports): building
// the document only runs each module's defineRoute calls, never a handler.
// Used by scripts/build-openapi.mjs (the static asset the Worker serves) and scripts/openapi-lint.mjs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { unstable_readConfig } from 'wrangler';

const workerdStubs = {
  name: 'workerd-stubs',
  setup(b) {
    b.onResolve({ filter: /^cloudflare:|\.wasm$/ }, (args) => ({ path: args.path, namespace: 'workerd-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'workerd-stub' }, () => ({
      contents: 'export class DurableObject {} export class WorkerEntrypoint {} export const env = {}; export function connect() { throw new Error("not in Node"); } export default {};',
      loader: 'js',
    }));
  },
};

/** `openApiDocument(version)` of src/features/docs/openapi.ts, with every router of src/app.ts mounted. */
export async function loadOpenApiDocument(root) {
  const config = unstable_readConfig({ config: join(root, 'wrangler.toml') }, { hideWarnings: true });
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const bundle = await build({
      stdin: { contents: "import './src/app'; export { openApiDocument } from './src/features/docs/openapi';", resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      conditions: ['workerd', 'worker', 'browser'],
      define: config.define ?? {},
      write: false,
      logLevel: 'warning',
      plugins: [workerdStubs],
    });
    const modulePath = join(dir, 'document.mjs');
    writeFileSync(modulePath, bundle.outputFiles[0].text);
    return (await import(pathToFileURL(modulePath).href)).openApiDocument;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
