import { describe, expect, it } from 'vitest';
import { parseQuietHours } from '../../../src/features/notifications/notifications.config';
import { inWindow, localMinutes, secondsUntilWindowEnds } from '../../../src/features/notifications/quiet-hours';

const NIGHT = { start: 21 * 60, end: 8 * 60 };

describe('quiet hours', () => {
  it('reads local time in the recipient time zone, across daylight saving', () => {
    // 12:00 UTC: 08:00 in New York in summer (EDT), 07:00 in winter (EST).
    expect(localMinutes(new Date(Date.UTC(2026, 6, 1, 12, 0)), 'America/New_York')).toBe(8 * 60);
    expect(localMinutes(new Date(Date.UTC(2026, 0, 15, 12, 0)), 'America/New_York')).toBe(7 * 60);
    expect(localMinutes(new Date(Date.UTC(2026, 0, 15, 12, 0)), 'Asia/Kolkata')).toBe(17 * 60 + 30);
  });

  it('handles windows that wrap past midnight and windows that do not', () => {
    expect(inWindow(22 * 60, NIGHT)).toBe(true);
    expect(inWindow(3 * 60, NIGHT)).toBe(true);
    expect(inWindow(8 * 60, NIGHT)).toBe(false);
    expect(inWindow(12 * 60, NIGHT)).toBe(false);
    expect(inWindow(13 * 60, { start: 12 * 60, end: 14 * 60 })).toBe(true);
    expect(inWindow(14 * 60, { start: 12 * 60, end: 14 * 60 })).toBe(false);
  });

  it('waits until the window ends, never less', () => {
    const at = new Date(Date.UTC(2026, 0, 15, 7, 59, 30)); // 07:59:30 in UTC
    expect(secondsUntilWindowEnds(at, 'UTC', NIGHT)).toBe(60 - 30 + 60);
    expect(secondsUntilWindowEnds(new Date(Date.UTC(2026, 0, 15, 12, 0)), 'UTC', NIGHT)).toBe(0);
    // 23:00 in Tokyo is 14:00 UTC: nine hours left.
    expect(secondsUntilWindowEnds(new Date(Date.UTC(2026, 0, 15, 14, 0)), 'Asia/Tokyo', NIGHT)).toBe(9 * 3600 + 60);
  });

  it('parses the configured window strictly', () => {
    expect(parseQuietHours('21:00-08:00')).toEqual(NIGHT);
    for (const bad of ['', '9pm-8am', '24:00-08:00', '08:00-08:00', '21:00 - 08:00']) expect(parseQuietHours(bad)).toBeNull();
  });
});
