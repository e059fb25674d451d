import * as z from 'zod/mini';
import { Cursor, Limit } from '../../lib/pagination';

export const SearchQuery = z.strictObject({
  q: z.string().check(z.minLength(1, 'q is required'), z.maxLength(200, 'q is too long')),
  /** One index (`users`), or every index the caller may read. */
  type: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,39}$/, 'Unknown type'))),
  limit: Limit,
  cursor: Cursor,
});

export const SearchHitResponse = z.object({
  type: z.string(),
  id: z.string(),
  title: z.string(),
  subtitle: z.string(),
  /** Relevance (bm25, higher is better); only comparable within one response. */
  score: z.number(),
});

export const SearchPage = z.object({ data: z.array(SearchHitResponse), nextCursor: z.nullable(z.string()) });
