/** Quiet-hours arithmetic in the recipient's time zone (pure functions, unit-tested). */

export interface QuietWindow {
  /** Minutes after local midnight; the window may wrap past midnight (21:00–08:00). */
  start: number;
  end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes after local midnight at `at` in `timeZone` (DST-correct: Intl does the offset). */
export function localMinutes(at: Date, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}

export function inWindow(minute: number, w: QuietWindow): boolean {
  return w.start < w.end ? minute >= w.start && minute < w.end : minute >= w.start || minute < w.end;
}

/**
 * Seconds until the window ends if `at` falls inside it, else 0. Rounded up to whole minutes
 * plus one, so a deferred message never lands a few seconds early, still inside the window.
 */
export function secondsUntilWindowEnds(at: Date, timeZone: string, w: QuietWindow): number {
  const minute = localMinutes(at, timeZone);
  if (!inWindow(minute, w)) return 0;
  const minutesLeft = (w.end - minute + 1440) % 1440 || 1440;
  return minutesLeft * 60 - at.getUTCSeconds() + 60;
}

export function formatMinute(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

export function parseMinute(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}
