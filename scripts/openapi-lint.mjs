// Builds the OpenAPI document in Node, without starting the Worker, and lints it with Redocly:
//   node scripts/openapi-lint.mjs [--out openapi.json] [--no-lint]
// (--no-lint only writes the document: scripts/build-client.mjs generates the typed client from it)
// The route modules are bundled with esbuild (wrangler's own bundler, already installed) and
// evaluated with stubs for what only workerd has (cloudflare:* modules, .wasm imports): building
// the document only runs each module's defineRoute calls, never a handler. Rules: redocly.yaml.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { unstable_readConfig } from 'wrangler';

const REDOCLY = '@redocly/cli@2.77.0';
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : null;
const lintIt = !process.argv.includes('--no-lint');

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
  const { openApiDocument } = await import(pathToFileURL(modulePath).href);
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const documentPath = out ?? join(dir, 'openapi.json');
  writeFileSync(documentPath, `${JSON.stringify(openApiDocument(version), null, 2)}\n`);
  console.log(`openapi-lint: ${Object.keys(openApiDocument(version).paths).length} paths → ${documentPath}`);

  if (lintIt) {
    // node_modules/.bin first: Redocly runs on the project's Node 22, not whatever is on PATH.
    const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
    const lint = spawnSync('npx', ['--yes', REDOCLY, 'lint', documentPath, '--config', join(root, 'redocly.yaml'), '--format', 'stylish'], { cwd: root, env, stdio: 'inherit' });
    process.exitCode = lint.status ?? 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
