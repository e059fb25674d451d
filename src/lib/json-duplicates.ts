// JSON.parse keeps the last of two equal keys without a word, and a reviver cannot tell: it
// runs on the finished object, where the first value is already gone. Two parsers (a proxy, a
// log pipeline, another service) may then disagree about what `{"role":"user","role":"admin"}`
// said, so the body middleware refuses repeated keys with this scanner.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

interface Frame {
  /** Keys seen so far in this object; null for an array. */
  keys: Set<string> | null;
  parent: Frame | undefined;
  /** Where this container sits in its parent (a key or an index); undefined at the root. */
  at: string | number | undefined;
  /** The current member: the last key read (objects) or the element index (arrays). */
  member: string | number;
}

export interface DuplicateKey {
  key: string;
  /** Dot path of the repeated key, as validation details name fields (`items.0.email`). */
  path: string;
}

/** Index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const ch = text.charCodeAt(i);
    if (ch === BACKSLASH) i += 2;
    else if (ch === QUOTE || Number.isNaN(ch)) return i;
    else i += 1;
  }
}

function pathOf(frame: Frame, key: string): string {
  const segments = [key];
  // Built only on a hit: deep nesting costs no string work on the way down.
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) segments.unshift(String(f.at));
  return segments.join('.');
}

/**
 * The first key repeated within one object, at any depth, or null. `text` must already have
 * passed JSON.parse: the scanner only tracks strings (with their escapes, so `"\u0065mail"`
 * is `email`), container brackets and commas. One pass, no recursion.
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  let top: Frame | undefined;
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey && top?.keys) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) return { key, path: pathOf(top, key) };
        top.keys.add(key);
        top.member = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === OPEN_OBJECT) {
      top = { keys: new Set(), parent: top, at: top?.member, member: '' };
      expectKey = true;
    } else if (ch === OPEN_ARRAY) {
      top = { keys: null, parent: top, at: top?.member, member: 0 };
      expectKey = false;
    } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      top = top?.parent;
      expectKey = false;
    } else if (ch === COMMA && top) {
      if (top.keys) expectKey = true;
      else top.member = (top.member as number) + 1;
    }
  }
  return null;
}
