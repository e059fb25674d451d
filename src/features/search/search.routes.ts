import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { encodeCursor } from '../../lib/pagination';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { searchIndexes } from '../../lib/search-index';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';
import { SearchPage, SearchQuery } from './search.schemas';
import { matchExpression, searchIndex } from './search.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

const searchRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Search every index the caller may read (prefix and multi-word, ranked by bm25)',
  tags: ['search'],
  access: AUTHENTICATED,
  rateLimit: 'search',
  request: { query: SearchQuery },
  responses: {
    200: { description: 'Best matches first', schema: SearchPage },
    403: { description: 'The caller may not read that type', schema: ErrorResponse },
  },
});

/** Mounted at /api/v1/search. Results are filtered by the caller's permissions before the query runs. */
export const searchRoutes = factory.createApp().get(searchRoute.path, endpoint(searchRoute), async (c) => {
  const { q, type, limit, cursor } = c.req.valid('query');
  const readable = [...searchIndexes.values()].filter((i) => c.var.auth.permissions.has(i.permission)).map((i) => i.type);
  if (type !== undefined && !searchIndexes.has(type)) {
    throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'type', message: `Unknown type; known: ${[...searchIndexes.keys()].join(', ')}` }] });
  }
  const types = type !== undefined ? readable.filter((t) => t === type) : readable;
  if (types.length === 0) throw new AppError(403, 'FORBIDDEN', { message: type ? `You may not search ${type}` : 'You may not search any index' });
  const match = matchExpression(q);
  if (!match) throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'q', message: 'q must contain a letter or a digit' }] });
  const offset = cursor?.k ?? 0;
  const { hits, more } = await searchIndex(c.env.SEARCH_DB, { match, types, limit, offset });
  const last = hits.at(-1);
  // The cursor is the offset of the next page; the id only fills the shared cursor shape.
  const id = last && UUID.test(last.id) ? last.id : NIL_UUID;
  return c.json({ data: hits, nextCursor: more && last ? encodeCursor({ k: offset + hits.length, id }) : null });
});
