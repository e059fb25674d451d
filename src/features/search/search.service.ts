import { searchIndexes, type SearchDocument } from '../../lib/search-index';

const MAX_TERMS = 8;

/**
 * The FTS5 MATCH expression for a user's words: each word becomes a quoted prefix term
 * (`"alic"*`), all of them required. Quoting makes every FTS5 operator (AND, NEAR, `:`, `^`,
 * parentheses, quotes) plain text, so no input can be a syntax error. Null when nothing
 * searchable is left (only punctuation).
 */
export function matchExpression(q: string): string | null {
  const terms = q
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0)
    .slice(0, MAX_TERMS);
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t.replace(/"/g, '""')}"*`).join(' ');
}

export interface SearchHit {
  type: string;
  id: string;
  title: string;
  subtitle: string;
  score: number;
}

/** Best matches first (bm25, the title weighted 4× the body), `limit + 1` read to know if more follow. */
export async function searchIndex(db: D1Database, input: { match: string; types: string[]; limit: number; offset: number }): Promise<{ hits: SearchHit[]; more: boolean }> {
  const typeList = input.types.map((_, i) => `?${i + 4}`).join(', ');
  const { results } = await db
    .prepare(
      `SELECT type, ref_id, title, body, bm25(search_index, 0, 0, 4.0, 1.0) AS score FROM search_index
       WHERE search_index MATCH ?1 AND type IN (${typeList}) ORDER BY score, rowid LIMIT ?2 OFFSET ?3`,
    )
    .bind(input.match, input.limit + 1, input.offset, ...input.types)
    .all<{ type: string; ref_id: string; title: string; body: string; score: number }>();
  const hits = results.slice(0, input.limit).map((r) => ({ type: r.type, id: r.ref_id, title: r.title, subtitle: r.body, score: -r.score }));
  return { hits, more: results.length > input.limit };
}

/** Replaces (or removes, for null) the index entries of one type in one batch. */
export async function writeDocuments(db: D1Database, type: string, docs: Map<string, SearchDocument | null>, now = Date.now()): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (const [refId, doc] of docs) {
    const rowid = `(SELECT id FROM search_refs WHERE type = ?1 AND ref_id = ?2)`;
    statements.push(db.prepare(`DELETE FROM search_index WHERE rowid = ${rowid}`).bind(type, refId));
    if (doc) {
      statements.push(
        db.prepare('INSERT INTO search_refs (type, ref_id, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (type, ref_id) DO UPDATE SET updated_at = excluded.updated_at').bind(type, refId, now),
        db.prepare(`INSERT INTO search_index (rowid, type, ref_id, title, body) SELECT id, type, ref_id, ?3, ?4 FROM search_refs WHERE type = ?1 AND ref_id = ?2`).bind(type, refId, doc.title, doc.body),
      );
    } else {
      statements.push(db.prepare('DELETE FROM search_refs WHERE type = ?1 AND ref_id = ?2').bind(type, refId));
    }
  }
  if (statements.length > 0) await db.batch(statements);
}

/** Rebuilds the entries the given audit events touched, from the system of record (idempotent). */
export async function reindexAfter(env: CloudflareBindings, events: readonly { action: string; outcome: string; actorId: string | null; targetId: string | null }[]): Promise<number> {
  let touched = 0;
  for (const index of searchIndexes.values()) {
    const ids = new Set<string>();
    for (const e of events) {
      const id = e.targetId ?? e.actorId;
      if (id && e.outcome === 'success' && (index.actions as readonly string[]).includes(e.action)) ids.add(id);
    }
    if (ids.size === 0) continue;
    const docs = await index.load(env, [...ids]);
    for (const id of ids) if (!docs.has(id)) docs.set(id, null);
    await writeDocuments(env.SEARCH_DB, index.type, docs);
    touched += ids.size;
  }
  return touched;
}
