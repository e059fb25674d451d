// Creates .dev.vars from .dev.vars.example when it is missing: a fresh Ed25519 signing key, an
// MFA encryption key and a random admin password (never printed; read it from .dev.vars). When
// .dev.vars exists, only generated keys it lacks are appended (after a pull that added one).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const target = '.dev.vars';
const generators = {
  JWT_SIGNING_KEYS: () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `dev-${randomUUID().slice(0, 8)}`, alg: 'EdDSA' };
    return `'${JSON.stringify([jwk])}'`;
  },
  ADMIN_PASSWORD: () => randomBytes(18).toString('base64url'),
  MFA_ENCRYPTION_KEY: () => randomBytes(32).toString('base64'),
  DEVICE_TOKEN_SECRET: () => randomBytes(32).toString('base64url'),
};

const example = readFileSync('.dev.vars.example', 'utf8');
if (!existsSync(target)) {
  let text = example;
  for (const [name, make] of Object.entries(generators)) text = text.replace(`${name}=__GENERATED__`, `${name}=${make()}`);
  writeFileSync(target, text, { mode: 0o600 });
  console.log('Created .dev.vars with a new signing key, MFA key and admin password (see the file; it is git-ignored).');
} else {
  const current = readFileSync(target, 'utf8');
  for (const [name, make] of Object.entries(generators)) {
    if (example.includes(`${name}=__GENERATED__`) && !new RegExp(`^${name}=`, 'm').test(current)) {
      appendFileSync(target, `\n${name}=${make()}\n`);
      console.log(`Added a generated ${name} to .dev.vars.`);
    }
  }
}
