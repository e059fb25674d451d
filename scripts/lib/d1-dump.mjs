// Reading `wrangler d1 export` SQL: the tables it creates and the rows it inserts per table
// (the export writes one `INSERT INTO "<table>"` statement per row, each at the start of a line).

/** The databases backed up: SEARCH_DB is a derived FTS5 index (rebuilt by the indexers) that `d1 export` refuses. */
export const BACKED_UP = ['AUTH_DB', 'APP_DB', 'LOGS_DB'];

export function dumpTables(sql) {
  return [...sql.matchAll(/^CREATE TABLE (?:IF NOT EXISTS )?[`"]?([^`"\s(]+)[`"]?/gm)].map((m) => m[1]).filter((t) => !t.startsWith('_cf_') && t !== 'sqlite_sequence');
}

/** { table: rows } for every table the dump creates (0 when it inserts nothing). */
export function dumpRowCounts(sql) {
  const counts = Object.fromEntries(dumpTables(sql).map((t) => [t, 0]));
  for (const m of sql.matchAll(/^INSERT INTO [`"]?([^`"\s(]+)[`"]?/gm)) if (m[1] in counts) counts[m[1]] += 1;
  return counts;
}

/**
 * Row-count statements for `wrangler d1 execute --command` (one per table, `;`-separated: D1
 * caps compound SELECTs at a few terms). Table names come from the dump, quoted as identifiers.
 */
export function countQuery(tables) {
  return tables.map((t) => `SELECT '${t.replaceAll("'", "''")}' AS t, count(*) AS n FROM "${t.replaceAll('"', '""')}"`).join('; ');
}

/** The results of `wrangler d1 execute --json` for countQuery() as { table: rows }. */
export function countsFromJson(parsed) {
  return Object.fromEntries(parsed.flatMap((p) => p.results ?? []).map((r) => [r.t, r.n]));
}
