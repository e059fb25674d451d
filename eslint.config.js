import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.wrangler/', 'worker-configuration.d.ts', 'migrations/', 'bench/.tmp/', 'soak/.tmp/', 'dist/', 'public/docs/scalar.standalone.js', 'clients/typescript/src/schema.d.ts', 'clients/typescript/openapi.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='transaction']", message: 'D1 has no interactive transactions: use db.batch([...]).' },
      ],
    },
  },
  { files: ['public/**/*.js'], languageOptions: { globals: { window: 'readonly', document: 'readonly' } } },
  {
    files: ['public/admin/**/*.js'],
    languageOptions: { globals: { location: 'readonly', fetch: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', Node: 'readonly', confirm: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', navigator: 'readonly', PublicKeyCredential: 'readonly' } },
  },
  {
    files: ['scripts/**/*.mjs', 'bench/**/*.mjs', 'soak/**/*.mjs', '.ci/**/*.mjs', 'test/ops/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', WebAssembly: 'readonly', performance: 'readonly', AbortSignal: 'readonly' } },
  },
);
