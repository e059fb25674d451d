import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportError, resetAlertThrottle } from '../../src/lib/observability';
import { parseSentryDsn } from '../../src/lib/sentry';

const report = { requestId: 'req-1', route: '/api/v1/users/:id', method: 'GET', error: new TypeError('boom'), environment: 'test' };

afterEach(() => {
  vi.restoreAllMocks();
  resetAlertThrottle();
});

describe('error reporting', () => {
  it('parses only https DSNs with a key and a numeric project', () => {
    expect(parseSentryDsn('https://abc123@o1.ingest.sentry.io/42')).toEqual({ endpoint: 'https://o1.ingest.sentry.io/api/42/envelope/', key: 'abc123' });
    for (const bad of ['http://abc@host/1', 'https://host/1', 'https://abc@host/proj', 'not a url']) expect(parseSentryDsn(bad)).toBeNull();
  });

  it('sends a Sentry envelope and a throttled alert, without request bodies or secrets', async () => {
    const calls: { url: string; body: string; headers: Headers }[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      calls.push({ url: String(input), body: String(init?.body), headers: new Headers(init?.headers) });
      return new Response('{}', { status: 200 });
    });
    const env = { SENTRY_DSN: 'https://pubkey@sentry.example.com/7', ALERT_WEBHOOK_URL: 'https://hooks.example.com/alert' };
    await reportError(env, report);
    await reportError(env, report);
    const sentry = calls.filter((c) => c.url === 'https://sentry.example.com/api/7/envelope/');
    const alerts = calls.filter((c) => c.url === 'https://hooks.example.com/alert');
    expect(sentry).toHaveLength(2);
    expect(sentry[0]!.headers.get('X-Sentry-Auth')).toContain('sentry_key=pubkey');
    const [, itemHeader, event] = sentry[0]!.body.trim().split('\n');
    expect(JSON.parse(itemHeader!)).toMatchObject({ type: 'event', content_type: 'application/json' });
    expect(JSON.parse(event!)).toMatchObject({ level: 'error', environment: 'test', tags: { requestId: 'req-1' }, exception: { values: [{ type: 'TypeError', value: 'boom' }] } });
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.body).text).toContain('req-1');
  });

  it('never throws when a sink is down', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('network down'));
    await expect(reportError({ SENTRY_DSN: 'https://k@s.example.com/1', ALERT_WEBHOOK_URL: 'https://h.example.com' }, report)).resolves.toBeUndefined();
  });
});
