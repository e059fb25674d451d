// Creates .dev.vars from .dev.vars.example when it is missing: a fresh Ed25519 signing key and
// a random admin password (never printed; read it from .dev.vars). Idempotent.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const target = '.dev.vars';
if (existsSync(target)) process.exit(0);

const { privateKey } = generateKeyPairSync('ed25519');
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `dev-${randomUUID().slice(0, 8)}`, alg: 'EdDSA' };
const password = randomBytes(18).toString('base64url');

const text = readFileSync('.dev.vars.example', 'utf8')
  .replace('JWT_SIGNING_KEYS=__GENERATED__', `JWT_SIGNING_KEYS='${JSON.stringify([jwk])}'`)
  .replace('ADMIN_PASSWORD=__GENERATED__', `ADMIN_PASSWORD=${password}`);
writeFileSync(target, text, { mode: 0o600 });
console.log('Created .dev.vars with a new signing key and admin password (see the file; it is git-ignored).');
