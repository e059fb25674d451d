// argon2id in Node with the Worker's own build and parameters (src/security/password.ts), for the
// seed scripts: the PHC string they write is one the Worker verifies as if it had made it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** PHC `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`, standard base64 without padding. */
export async function hashPassword(password) {
  const { default: setupWasm } = await import('argon2id/lib/setup.js');
  const dist = join(require.resolve('argon2id/package.json'), '..', 'dist');
  const load = (file) => async (imports) => WebAssembly.instantiate(readFileSync(join(dist, file)), imports);
  const argon2id = await setupWasm(load('simd.wasm'), load('no-simd.wasm'));
  const b64 = (buf) => Buffer.from(buf).toString('base64').replace(/=+$/, '');
  const salt = randomBytes(16);
  const tag = argon2id({ password: new TextEncoder().encode(password), salt, parallelism: 1, passes: 2, memorySize: 19456, tagLength: 32 });
  return `$argon2id$v=19$m=19456,t=2,p=1$${b64(salt)}$${b64(tag)}`;
}

/** A SQL string literal. */
export const sqlString = (s) => `'${String(s).replace(/'/g, "''")}'`;
