import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Idempotent: runs before each test file against that file's isolated storage.
await applyD1Migrations(env.AUTH_DB, env.TEST_MIGRATIONS.auth);
await applyD1Migrations(env.APP_DB, env.TEST_MIGRATIONS.app);
await applyD1Migrations(env.LOGS_DB, env.TEST_MIGRATIONS.logs);
await applyD1Migrations(env.SEARCH_DB, env.TEST_MIGRATIONS.search);
