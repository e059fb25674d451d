declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}

declare module 'argon2id/lib/setup.js' {
  import type { computeHash } from 'argon2id';
  type Loader = (imports: WebAssembly.Imports) => Promise<{ instance: WebAssembly.Instance }>;
  export default function setupWasm(getSIMD: Loader, getNonSIMD: Loader): Promise<computeHash>;
}
