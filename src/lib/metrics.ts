import { log } from './log';

/**
 * One Workers Analytics Engine data point per request, when a dataset is bound as METRICS. The
 * column layout is the query contract of docs/observability.md: change it there too.
 *
 * | column  | value |
 * |---------|-------|
 * | index1  | route pattern (the sampling key: quiet routes keep their share) |
 * | blob1   | route pattern (`/api/v1/users/:id`, never the raw URL) |
 * | blob2   | method |
 * | blob3   | status class (`2xx` … `5xx`) |
 * | blob4   | status code |
 * | blob5   | colo (`CDG`) |
 * | blob6   | country (`FR`) |
 * | blob7   | Worker version id (CF_VERSION_METADATA) |
 * | double1 | duration, ms |
 * | double2 | status code |
 * | double3 | 1 when 5xx, else 0 |
 */
export interface RequestMetric {
  route: string;
  method: string;
  status: number;
  durationMs: number;
  colo?: string;
  country?: string;
  versionId?: string;
}

/** Analytics Engine's limit for an index. */
const MAX_INDEX_BYTES = 96;

export function requestDataPoint(m: RequestMetric): AnalyticsEngineDataPoint {
  const status = Math.trunc(m.status);
  return {
    indexes: [m.route.length <= MAX_INDEX_BYTES / 4 ? m.route : truncateUtf8(m.route, MAX_INDEX_BYTES)],
    blobs: [m.route.slice(0, 256), m.method.slice(0, 16), `${Math.trunc(status / 100)}xx`, String(status), m.colo ?? '', m.country ?? '', m.versionId ?? ''],
    doubles: [m.durationMs, status, status >= 500 ? 1 : 0],
  };
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  return new TextDecoder().decode(bytes.slice(0, maxBytes)).replace(/\uFFFD$/, '');
}

/** Hands the point to the runtime (no I/O is awaited); a missing binding (local dev without it) is a no-op. */
export function writeRequestMetric(dataset: AnalyticsEngineDataset | undefined, m: RequestMetric): void {
  if (!dataset) return;
  try {
    dataset.writeDataPoint(requestDataPoint(m));
  } catch (err) {
    log('warn', 'metrics write failed', { error: err instanceof Error ? err.name : 'Error' });
  }
}
