import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: { auth: D1Migration[]; app: D1Migration[]; logs: D1Migration[]; search: D1Migration[] };
    }
  }
}
export {};
