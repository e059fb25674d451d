// The 10,000 most common passwords of 8–128 characters (SecLists' Xato top list), held as a
// Golomb–Rice coded set of hashes: ~19 KiB gzip instead of ~90 KiB of text. A password that merely
// shares a hash slot with a listed one (≈ 1 in 10,000) is refused as too common: harmless.
// How the set is built: scripts/build-common-passwords.mjs. The k-anonymity check against a
// breached-password API is in ./breached-passwords.ts.
//
// The set is data, not code: it is a static asset (public/internal/, served to the Worker's ASSETS
// binding only) read once per isolate, on the first password being set, and checked against the
// SHA-256 the build wrote next to this file. A missing, stale or altered asset fails closed and
// loudly: the check throws (the request is a 500, logged), it never answers "not common".
import { env } from 'cloudflare:workers';
import { COMMON_PASSWORD_ASSET } from './common-passwords.data';

interface CodedSet {
  count: number;
  range: number;
  riceBits: number;
  bucketWidth: number;
  /** Bit offset of each bucket in `data`, and the end. */
  offsets: number[];
  data: string;
}

/** Anything with the ASSETS binding's `fetch` (tests pass a stand-in). */
export interface AssetFetcher {
  fetch(input: string): Promise<Response>;
}

const encoder = new TextEncoder();

/** FNV-1a over the UTF-8 bytes, then murmur3's fmix32 so the high bits mix well. Must match the generator. */
function hash32(text: string): number {
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

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SEXTET = new Uint8Array(128);
for (let i = 0; i < BASE64.length; i += 1) SEXTET[BASE64.charCodeAt(i)] = i;

/** Bit `position` of the coded set, read straight from the base64 text (6 bits a character, MSB first). */
function bitAt(data: string, position: number): number {
  const sextet = SEXTET[data.charCodeAt((position / 6) | 0)] ?? 0;
  return (sextet >>> (5 - (position % 6))) & 1;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

async function fetchSet(assets: AssetFetcher): Promise<CodedSet> {
  const res = await assets.fetch(`https://assets.invalid${COMMON_PASSWORD_ASSET.path}`);
  if (!res.ok) throw new Error(`common-password set unavailable: asset ${COMMON_PASSWORD_ASSET.path} answered ${res.status}`);
  const bytes = await res.arrayBuffer();
  if (hex(await crypto.subtle.digest('SHA-256', bytes)) !== COMMON_PASSWORD_ASSET.sha256) {
    throw new Error(`common-password set unavailable: asset ${COMMON_PASSWORD_ASSET.path} does not match its SHA-256 (stale build?)`);
  }
  const set = JSON.parse(new TextDecoder().decode(bytes)) as CodedSet;
  if (set.count !== COMMON_PASSWORD_ASSET.count || set.offsets.length !== 65) throw new Error('common-password set unavailable: unexpected shape');
  return set;
}

/** One load per isolate and fetcher; a failed load is not remembered, so the next request retries. */
const loaded = new WeakMap<AssetFetcher, Promise<CodedSet>>();

export function loadCommonPasswordSet(assets: AssetFetcher = env.ASSETS): Promise<CodedSet> {
  let set = loaded.get(assets);
  if (!set) {
    set = fetchSet(assets);
    loaded.set(assets, set);
    set.catch(() => loaded.delete(assets)); // the caller sees the rejection itself
  }
  return set;
}

/** Case-insensitive: `Password123` counts as `password123`. Decodes one bucket, ~160 entries. Throws when the set cannot be read. */
export async function isCommonPassword(password: string, assets?: AssetFetcher): Promise<boolean> {
  const { range, riceBits, bucketWidth, offsets, data } = await loadCommonPasswordSet(assets);
  const target = Math.floor((hash32(password.toLowerCase()) / 4294967296) * range);
  const bucket = Math.floor(target / bucketWidth);
  let position = offsets[bucket] ?? 0;
  const end = offsets[bucket + 1] ?? 0;
  let value = bucket * bucketWidth;
  while (position < end) {
    let gap = 0;
    while (bitAt(data, position++) === 1) gap += 1 << riceBits;
    for (let i = riceBits - 1; i >= 0; i -= 1) gap += bitAt(data, position++) << i;
    value += gap;
    if (value >= target) return value === target;
  }
  return false;
}
