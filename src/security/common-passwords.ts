// The 10,000 most common passwords of 8–128 characters (SecLists' Xato top list), held as a
// Golomb–Rice coded set of hashes: ~19 KiB gzip instead of ~90 KiB of text. A password that merely
// shares a hash slot with a listed one (≈ 1 in 10,000) is refused as too common: harmless.
// How the set is built: scripts/build-common-passwords.mjs. The k-anonymity check against a
// breached-password API is in ./breached-passwords.ts.
import { COMMON_PASSWORD_SET } from './common-passwords.data';

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

/** Case-insensitive: `Password123` counts as `password123`. Decodes one bucket, ~160 entries. */
export function isCommonPassword(password: string): boolean {
  const { range, riceBits, bucketWidth, offsets, data } = COMMON_PASSWORD_SET;
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
