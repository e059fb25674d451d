import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig(async () => {
  const root = import.meta.dirname;
  const [auth, app, logs, search] = await Promise.all(['auth', 'app', 'logs', 'search'].map((db) => readD1Migrations(path.join(root, 'migrations', db))));
  return {
    // Tests cover the optional backends (Upstash limiter, SMTP channel), so their build includes them.
    define: { __UPSTASH_BUILD__: 'true', __SMTP_BUILD__: 'true' },
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // RELIABILITY_FULL=1 runs test/reliability at the full size (npm run reliability -- --full).
          bindings: { TEST_MIGRATIONS: { auth, app, logs, search }, RELIABILITY_FULL: process.env.RELIABILITY_FULL === '1' ? '1' : '' },
          // Lets tests call exports.default.queue() / .scheduled() directly.
          compatibilityFlags: ['service_binding_extra_handlers'],
          queueConsumers: {
            'app-ubr-audit': { maxBatchTimeout: 0.05 },
            'app-ubr-notifications': { maxBatchTimeout: 0.05, maxRetries: 8, deadLetterQueue: 'app-ubr-notifications-dlq' },
            'app-ubr-notifications-dlq': { maxBatchTimeout: 0.05 },
            'app-ubr-webhooks': { maxBatchTimeout: 0.05 },
          },
        },
      }),
    ],
    test: {
      setupFiles: ['./test/setup/apply-migrations.ts', './test/setup/drain-background.ts'],
      globalSetup: ['./test/setup/global-openapi.ts', './test/setup/global-smtp.ts', './test/setup/global-redis.ts', './test/setup/global-pwned.ts', './test/setup/global-webhooks.ts', './test/setup/global-oidc.ts', './test/setup/global-github.ts', './test/setup/global-sentry.ts', './test/setup/global-apple.ts', './test/setup/global-chaos-provider.ts'],
      // test/reliability (issue 20) is its own run: `npm run reliability` (CI size, a .ci/run step)
      // or `npm run reliability:full` (the sizes).
      include: process.env.RELIABILITY ? ['test/reliability/**/*.test.ts'] : ['test/**/*.test.ts'],
      exclude: process.env.RELIABILITY ? [] : ['test/reliability/**', 'node_modules/**'],
      // Request log lines only for failing tests: CI output stays readable.
      silent: 'passed-only',
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
