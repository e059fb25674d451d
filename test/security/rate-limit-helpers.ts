import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { app } from '../../src/app';
import { BASE, type CallOptions } from '../helpers/api';

export type EnvOverrides = Partial<Record<keyof CloudflareBindings | 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN', unknown>>;

/**
 * The real app with the real local bindings, but some vars or bindings replaced (smaller
 * tiers, another backend, a failing limiter). Make one per test and reuse it: config and the
 * backend are cached per env object, like the runtime's env in an isolate.
 */
export function envWith(overrides: EnvOverrides): CloudflareBindings {
  return { ...env, ...overrides } as CloudflareBindings;
}

export async function callWith(testEnv: CloudflareBindings, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'CF-Connecting-IP': options.ip ?? '203.0.113.10', ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body }), testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A RATE_LIMITER namespace whose objects always fail: the limiter is "down". */
export function failingNamespace(mode: 'throw' | 'hang'): DurableObjectNamespace {
  const fail = () => (mode === 'throw' ? Promise.reject(new Error('limiter down (test)')) : new Promise<never>(() => {}));
  return {
    idFromName: (name: string) => env.RATE_LIMITER.idFromName(name),
    get: () => ({ consume: fail, refund: fail, ping: fail }),
  } as unknown as DurableObjectNamespace;
}

export const RATE_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

export function rateHeaders(res: Response): Record<string, string | null> {
  return Object.fromEntries(RATE_HEADERS.map((h) => [h, res.headers.get(h)]));
}

export const wrongLogin = (email: string) => ({ email, password: 'definitely-not-the-password' });
