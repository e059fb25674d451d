import { createMiddleware } from 'hono/factory';
import { AppError } from '../lib/errors';
import { findDuplicateKey } from '../lib/json-duplicates';

export interface BodyVariables {
  /** The parsed JSON body, when the request had one. */
  jsonBody?: unknown;
  /** A form body, accepted only under `formPathPrefix` or on `formPathPattern` (providers that post forms). */
  formBody?: URLSearchParams;
}

export interface JsonBodyOptions {
  /** Maximum body size in bytes. */
  maxBytes: number | ((c: { env: unknown }) => number);
  /** Paths under this prefix may post application/x-www-form-urlencoded (e.g. Twilio webhooks). */
  formPathPrefix?: string;
  /** Paths matching this may post a form too (the social sign-in callback: Apple's form_post). */
  formPathPattern?: RegExp;
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads at most `max` bytes, counting what actually arrives: Content-Length may lie or be absent. */
async function readLimited(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new AppError(413, 'PAYLOAD_TOO_LARGE', { message: `Request body exceeds ${max} bytes` });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function parseJson(text: string): unknown {
  let value: unknown;
  try {
    // Keys that could reach Object.prototype through a later merge are refused outright.
    value = JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError('forbidden key');
      return v;
    });
  } catch (err) {
    const forbidden = err instanceof SyntaxError && err.message === 'forbidden key';
    throw new AppError(400, 'VALIDATION_ERROR', {
      message: forbidden ? 'Request body contains a forbidden key' : 'Malformed JSON in request body',
      details: [{ field: '(body)', message: forbidden ? 'Forbidden key (__proto__, constructor, prototype)' : 'Malformed JSON' }],
    });
  }
  if (typeof value === 'object' && value !== null) {
    const duplicate = findDuplicateKey(text);
    if (duplicate) {
      throw new AppError(400, 'VALIDATION_ERROR', {
        message: 'Request body repeats a key',
        details: [{ field: duplicate.path.slice(0, 200), message: `Duplicate key "${duplicate.key.slice(0, 100)}"` }],
      });
    }
  }
  return value;
}

/**
 * For requests that carry a body: enforces the size limit (413, also when Content-Length is
 * missing or wrong), requires a JSON content type (415) and parses it once (400 when malformed).
 * @example app.use('/api/*', jsonBody({ maxBytes: 65536 }))
 */
export const jsonBody = (options: JsonBodyOptions) =>
  createMiddleware<{ Variables: BodyVariables }>(async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE') {
      if (c.req.raw.body) await c.req.raw.body.cancel().catch(() => {});
      return next();
    }
    const max = typeof options.maxBytes === 'function' ? options.maxBytes(c) : options.maxBytes;
    const declared = c.req.header('Content-Length');
    if (declared !== undefined && (!/^\d+$/.test(declared) || Number(declared) > max)) {
      throw new AppError(413, 'PAYLOAD_TOO_LARGE', { message: `Request body exceeds ${max} bytes` });
    }
    const raw = c.req.raw.body;
    const bytes = raw ? await readLimited(raw, max) : new Uint8Array();
    if (bytes.byteLength === 0) return next();
    const type = c.req.header('Content-Type') ?? '';
    const formPath = (options.formPathPrefix && c.req.path.startsWith(options.formPathPrefix)) || options.formPathPattern?.test(c.req.path);
    if (formPath && FORM_TYPE.test(type)) {
      c.set('formBody', new URLSearchParams(new TextDecoder().decode(bytes)));
      return next();
    }
    if (!JSON_TYPE.test(type)) {
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw new AppError(400, 'VALIDATION_ERROR', { message: 'Body is not valid UTF-8', details: [{ field: '(body)', message: 'Invalid UTF-8' }] });
    }
    c.set('jsonBody', parseJson(text));
    await next();
  });
