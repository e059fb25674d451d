import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE, call, json } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';

interface Health {
  status: string;
  version: string;
  environment: string;
  time: string;
  checks: Record<string, { status: string; latencyMs: number }>;
}

describe('GET /api/v1/health', () => {
  it('checks each binding and answers 200 when all answer', async () => {
    const res = await exports.default.fetch(`${BASE}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = await json<Health>(res);
    expect(body.status).toBe('ok');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(body.checks).sort()).toEqual(['appDb', 'auditQueue', 'authDb', 'durableObject', 'kv', 'logsDb', 'notificationHub', 'notifyQueue']);
    for (const [name, check] of Object.entries(body.checks)) {
      expect(check.status, name).toBe('ok');
      expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('answers 503 naming the failed dependency, without internals', async () => {
    const broken = { prepare: () => { throw new Error('D1_ERROR: no such table: secret_internal_name'); } } as unknown as D1Database;
    const res = await callWithEnv({ LOGS_DB: broken }, '/api/v1/health');
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toMatch(/D1_ERROR|secret_internal_name/);
    const body = JSON.parse(text) as Health;
    expect(body.status).toBe('degraded');
    expect(body.checks.logsDb!.status).toBe('fail');
    expect(body.checks.authDb!.status).toBe('ok');
  });

  it('shares its dependency checks between probes for a moment (a probe flood does not fan out)', async () => {
    const first = await (await call('/api/v1/health')).json<{ checks: Record<string, { latencyMs: number }> }>();
    const second = await (await call('/api/v1/health')).json<{ checks: Record<string, { latencyMs: number }> }>();
    expect(second.checks).toEqual(first.checks);
  });
});
