import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { requestDataPoint } from '../../src/lib/metrics';
import { BASE } from '../helpers/api';

/**
 * Analytics Engine is write-only from a Worker and miniflare's local dataset keeps nothing, so to
 * see the points a test binds this recorder in place of METRICS (the platform's sink, not our storage).
 */
class RecordingDataset implements AnalyticsEngineDataset {
  points: AnalyticsEngineDataPoint[] = [];
  writeDataPoint(point?: AnalyticsEngineDataPoint): void {
    if (point) this.points.push(structuredClone(point));
  }
}

interface Run {
  res: Response;
  /** Points written by the time the response was returned. */
  beforeResponseEnded: number;
}

async function run(overrides: Partial<CloudflareBindings>, path: string, cf?: Record<string, string>, headers: Record<string, string> = {}): Promise<Run> {
  const request = new Request(`${BASE}${path}`, { headers: { 'CF-Connecting-IP': '203.0.113.41', ...headers }, ...(cf ? { cf } : {}) });
  const ctx = createExecutionContext();
  const recorder = overrides.METRICS instanceof RecordingDataset ? overrides.METRICS : undefined;
  const res = await worker.fetch(request, { ...env, ...overrides } as CloudflareBindings, ctx);
  const beforeResponseEnded = recorder?.points.length ?? 0;
  await waitOnExecutionContext(ctx);
  return { res, beforeResponseEnded };
}

describe('request metrics (Analytics Engine)', () => {
  it('writes one data point per request after the response: route pattern, method, status class, duration, colo, country, version', async () => {
    const metrics = new RecordingDataset();
    const meta = { id: '7d1f0c3a-9b2e-4f5d-8a6c-1e2f3a4b5c6d', tag: '', timestamp: '' };
    const { res, beforeResponseEnded } = await run({ METRICS: metrics, CF_VERSION_METADATA: meta }, '/api/v1/health', { colo: 'CDG', country: 'FR' });
    expect(res.status).toBe(200);
    expect(beforeResponseEnded).toBe(0);
    expect(metrics.points).toHaveLength(1);
    const [point] = metrics.points;
    expect(point!.indexes).toEqual(['/api/v1/health']);
    expect(point!.blobs).toEqual(['/api/v1/health', 'GET', '2xx', '200', 'CDG', 'FR', meta.id]);
    const [durationMs, status, serverError] = point!.doubles!;
    expect(durationMs).toBeGreaterThanOrEqual(0);
    expect([status, serverError]).toEqual([200, 0]);
  });

  it('records the route pattern, never the raw path or query, for an id and for an unknown URL', async () => {
    const metrics = new RecordingDataset();
    const secret = 'tok-7Hq2xZp9LmN4vB8c';
    await run({ METRICS: metrics }, `/api/v1/users/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b?token=${secret}`);
    await run({ METRICS: metrics }, `/api/v1/no-such/${secret}`);
    expect(metrics.points).toHaveLength(2);
    const [byId, unknown] = metrics.points;
    expect(byId!.blobs!.slice(0, 4)).toEqual(['/api/v1/users/:id', 'GET', '4xx', '401']);
    expect(unknown!.blobs!.slice(2, 4)).toEqual(['4xx', '404']);
    expect(JSON.stringify(metrics.points)).not.toMatch(/tok-|0193a1b2|no-such/);
  });

  it('counts an unexpected failure in the 5xx column', async () => {
    const metrics = new RecordingDataset();
    const { res } = await run({ METRICS: metrics, JWT_SIGNING_KEYS: '{not json' }, '/.well-known/jwks.json');
    expect(res.status).toBe(500);
    expect(metrics.points[0]!.blobs!.slice(0, 4)).toEqual(['/.well-known/jwks.json', 'GET', '5xx', '500']);
    expect(metrics.points[0]!.doubles!.slice(1)).toEqual([500, 1]);
  });

  it('serves normally without the binding and when the dataset throws', async () => {
    const { res: unbound } = await run({ METRICS: undefined }, '/api/v1/health');
    expect(unbound.status).toBe(200);
    const broken: AnalyticsEngineDataset = {
      writeDataPoint: () => {
        throw new Error('dataset unavailable');
      },
    };
    const { res } = await run({ METRICS: broken }, '/api/v1/health');
    expect(res.status).toBe(200);
  });

  it('runs against the local Analytics Engine binding miniflare provides from wrangler.toml', async () => {
    expect(typeof env.METRICS.writeDataPoint).toBe('function');
    expect(() => env.METRICS.writeDataPoint(requestDataPoint({ route: '/api/v1/health', method: 'GET', status: 200, durationMs: 1 }))).not.toThrow();
    const res = await exports.default.fetch(`${BASE}/api/v1/health`, { headers: { 'CF-Connecting-IP': '203.0.113.42' } });
    expect(res.status).toBe(200);
  });

  it('keeps the index within 96 bytes for a long route, without splitting a character', () => {
    const route = `/api/v1/${'é'.repeat(80)}`;
    const [index] = requestDataPoint({ route, method: 'GET', status: 200, durationMs: 1 }).indexes as string[];
    expect(new TextEncoder().encode(index).byteLength).toBeLessThanOrEqual(96);
    expect(route.startsWith(index!)).toBe(true);
  });
});
