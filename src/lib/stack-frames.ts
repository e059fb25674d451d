/**
 * V8 `Error.stack` lines → Sentry stack frames (https://develop.sentry.dev/sdk/data-model/event-payloads/stacktrace/).
 * Hand-written rather than @sentry/cloudflare: the Worker bundle has a size budget and this is text parsing.
 */
export interface SentryFrame {
  function: string;
  /** Project-relative (`src/lib/jwt.ts`, `node_modules/hono/…`) or the bundle's module name (`index.js`). */
  filename?: string;
  /** `app:///<filename>`: what `sentry-cli sourcemaps upload --url-prefix 'app:///'` matches (docs/observability.md). */
  abs_path?: string;
  lineno?: number;
  colno?: number;
  in_app: boolean;
}

/** V8's default is 10; Sentry keeps up to 50 and so do we. */
export const MAX_FRAMES = 50;

// `at [async ][new ]fn [as alias] (location)` or `at location`; location is `file:line:col`, `native` or `<anonymous>`.
const FRAME = /^\s*at\s+(?:(.+?)\s+\((.+)\)|(.+))\s*$/;
const LOCATION = /^(.*?):(\d+):(\d+)$/;

/**
 * Local paths carry a user's home directory and a build's temporary folder: keep the part from
 * `node_modules/` or `src/` on, else the file name. Query strings and hashes (vite's `?v=…`) are dropped.
 */
export function normalizeFilename(raw: string): string {
  const path = raw
    .replace(/^file:\/\//, '')
    .replace(/[?#].*$/, '')
    .replace(/\\/g, '/');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + 1);
  const src = path.lastIndexOf('/src/');
  if (src >= 0) return path.slice(src + 1);
  return path.slice(path.lastIndexOf('/') + 1) || path;
}

/** Frames of libraries and of the runtime are not ours: Sentry folds them and groups on the rest. */
function inApp(filename: string | undefined): boolean {
  if (!filename) return false;
  return !/^(?:node_modules\/|node:|cloudflare:|internal[:/]|workerd[:/])/.test(filename) && !filename.includes('/node_modules/');
}

function parseLine(line: string): SentryFrame | null {
  const m = FRAME.exec(line);
  if (!m) return null;
  const fn = (m[1] ?? '').replace(/^async\s+/, '').trim() || '?';
  let location = (m[2] ?? m[3] ?? '').trim();
  // `eval at fn (file:1:2), <anonymous>:3:4`: the frame is the evaluated code's; its origin is the outer location.
  const evalOrigin = /^eval at .*?\((.+?)\)/.exec(location);
  if (evalOrigin?.[1]) location = evalOrigin[1];
  const loc = LOCATION.exec(location);
  if (!loc) return { function: fn, in_app: false };
  const filename = normalizeFilename(loc[1] ?? '');
  return { function: fn, filename, abs_path: `app:///${filename}`, lineno: Number(loc[2]), colno: Number(loc[3]), in_app: inApp(filename) };
}

/** Frames of a V8 stack (message lines ignored), oldest call first as Sentry expects, at most MAX_FRAMES of the newest. */
export function parseStackFrames(stack: string): SentryFrame[] {
  const frames: SentryFrame[] = [];
  for (const line of stack.split('\n')) {
    if (!/^\s*at\s/.test(line)) continue;
    const frame = parseLine(line);
    if (frame) frames.push(frame);
    if (frames.length === MAX_FRAMES) break;
  }
  return frames.reverse();
}
