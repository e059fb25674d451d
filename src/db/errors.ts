/**
 * True when a D1 write failed on a UNIQUE constraint. Drizzle wraps the D1 error ("Failed
 * query: …") and keeps the original as `cause`, so both are looked at.
 */
export function isUniqueViolation(err: unknown): boolean {
  const text = `${String(err)} ${String((err as { cause?: unknown } | null)?.cause ?? '')}`;
  return /UNIQUE constraint failed/i.test(text);
}
