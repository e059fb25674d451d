import * as z from 'zod/mini';
import { base64url, fromBase64url } from './crypto';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `?limit=`: an integer ≥ 1; above the maximum it is clamped, anything else is a 400. */
export const Limit = z.pipe(
  z.optional(z.string().check(z.regex(/^\d{1,6}$/, 'limit must be a positive integer'))),
  z.transform((v: string | undefined) => (v === undefined ? DEFAULT_PAGE_SIZE : Math.min(Number(v), MAX_PAGE_SIZE))),
).check(z.refine((n: number) => n >= 1, 'limit must be at least 1'));

export interface CursorData {
  /** Sort key of the last row of the page (e.g. a timestamp), when the order has one. */
  k?: number;
  /** Public id of the last row (tie-breaker and key). */
  id: string;
}

const CursorShape = z.object({ k: z.optional(z.number()), id: z.uuid() });

export function encodeCursor(data: CursorData): string {
  return base64url(new TextEncoder().encode(JSON.stringify(data)));
}

/** An opaque cursor: base64url JSON. Anything that does not decode to the right shape is a 400. */
export const Cursor = z.optional(
  z.pipe(
    z.string().check(z.maxLength(512), z.regex(/^[A-Za-z0-9_-]+$/, 'Invalid cursor')),
    z.transform((value: string, ctx) => {
      try {
        const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
          fromBase64url(value),
        );
        const parsed = z.safeParse(CursorShape, JSON.parse(text));
        if (parsed.success) return parsed.data as CursorData;
      } catch {
        // fall through to the issue below
      }
      ctx.issues.push({ code: 'custom', message: 'Invalid cursor', input: value });
      return z.NEVER;
    }),
  ),
);

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Query-string boolean: only "true" / "false" (and absent). */
export const QueryBool = z.optional(z.pipe(z.enum(['true', 'false']), z.transform((v: 'true' | 'false') => v === 'true')));

/** ISO 8601 timestamp in a query string, as a Date. */
export const QueryDate = z.optional(z.pipe(z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date-time' }), z.transform((v: string) => new Date(v))));

export function pageSchema<T extends z.ZodMiniType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.nullable(z.string()) });
}
