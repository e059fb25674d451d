/** Structured JSON logging. Callers pass only non-secret fields; emails go through `maskEmail`. */
type Level = 'debug' | 'info' | 'warn' | 'error';

// Control characters are escaped by JSON.stringify; long strings are cut to keep lines bounded.
function clip(value: unknown): unknown {
  if (typeof value === 'string' && value.length > 512) return `${value.slice(0, 512)}…`;
  return value;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line: Record<string, unknown> = { level, msg, time: new Date().toISOString() };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) line[k] = clip(v);
  const text = JSON.stringify(line);
  if (level === 'error') console.error(text);
  else if (level === 'warn') console.warn(text);
  else console.log(text);
}

/** `alice@example.com` → `a***@example.com`: enough to correlate, not to identify. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
