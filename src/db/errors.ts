import { DrizzleQueryError } from 'drizzle-orm/errors';

const MAX_CAUSE_DEPTH = 8;

/** `err` and its `cause`s, outermost first (bounded: a cause cycle must not hang a request). */
export function errorChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < MAX_CAUSE_DEPTH && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * Drizzle's wrapper around a failed statement: its message is the SQL plus every bound value
 * (emails, names, token hashes), so it is never logged or matched on; the D1 error is its cause.
 * Duck-typed too, in case a second copy of drizzle-orm is bundled.
 */
export function isDrizzleQueryError(err: unknown): err is Error & { query: string; params: unknown[] } {
  if (err instanceof DrizzleQueryError) return true;
  const e = err as { query?: unknown; params?: unknown; message?: unknown } | null;
  return err instanceof Error && typeof e?.query === 'string' && Array.isArray(e.params) && String(e.message).startsWith('Failed query:');
}

/** The messages of the chain that come from D1 or other code, never a drizzle wrapper's. */
function ownMessages(err: unknown): string[] {
  return errorChain(err)
    .filter((e) => !isDrizzleQueryError(e))
    .map((e) => (e instanceof Error ? e.message : String(e)));
}

/**
 * True when a D1 write failed on a UNIQUE constraint. Drizzle wraps the D1 error ("Failed
 * query: …") and keeps the original as `cause`; only the D1 text is looked at, since the
 * wrapper's message carries user input.
 */
export function isUniqueViolation(err: unknown): boolean {
  return ownMessages(err).some((m) => /UNIQUE constraint failed/i.test(m));
}

/** `D1_ERROR`, `D1_TYPE_ERROR`, `SQLITE_CONSTRAINT`… from the first D1 message in the chain. */
export function d1ErrorCode(err: unknown): string | undefined {
  for (const m of ownMessages(err)) {
    const codes = [/\bD1_[A-Z_]+\b/.exec(m)?.[0], /\bSQLITE_[A-Z_]+\b/.exec(m)?.[0]].filter(Boolean);
    if (codes.length > 0) return codes.join(' ');
  }
  return undefined;
}

const STATEMENT_KEYWORDS = new Set(['select', 'insert', 'replace', 'update', 'delete', 'with', 'create', 'drop', 'alter', 'pragma']);
const IDENT = String.raw`("[^"]+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w.]+)`;
const TARGET: Record<string, RegExp> = {
  insert: new RegExp(String.raw`^\s*insert\s+(?:or\s+\w+\s+)?into\s+${IDENT}`, 'i'),
  replace: new RegExp(String.raw`^\s*replace\s+into\s+${IDENT}`, 'i'),
  update: new RegExp(String.raw`^\s*update\s+(?:or\s+\w+\s+)?${IDENT}`, 'i'),
  delete: new RegExp(String.raw`^\s*delete\s+from\s+${IDENT}`, 'i'),
  select: new RegExp(String.raw`\bfrom\s+${IDENT}`, 'i'),
};

const collapse = (sql: string): string => sql.replace(/\([^()]*\)/g, ' _ ');

/**
 * A name for a statement that says what ran without any value in it: the first SQL keyword and
 * the table (`insert users`, `select sessions`), from the SQL text with its literals and
 * sub-queries removed. Undefined for anything that does not look like SQL.
 */
export function statementName(sql: string): string | undefined {
  let text = sql.replace(/'(?:[^']|'')*'/g, "''");
  // Sub-queries (column lists, IN (…), EXISTS (…)) would otherwise lend their FROM to a SELECT.
  for (let inner = collapse(text); inner !== text; inner = collapse(text)) text = inner;
  const keyword = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase();
  if (!keyword || !STATEMENT_KEYWORDS.has(keyword)) return undefined;
  const table = TARGET[keyword]?.exec(text)?.[1]?.replace(/^["`[]|["`\]]$/g, '');
  return table && /^[\w.]{1,64}$/.test(table) ? `${keyword} ${table}` : keyword;
}
