import type { SendResult } from './types';

/** Provider calls never hang a consumer: every request has a deadline. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** `Retry-After` in seconds (delta or HTTP date), bounded to the queue's 12 h delay limit. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  const seconds = Number.isFinite(s) ? s : (Date.parse(header) - now) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return Math.min(43_200, Math.ceil(seconds));
}

/** The default classification of an HTTP answer: 408/425/429/5xx are transient, other 4xx are not. */
export function classifyStatus(provider: string, res: Response, reason: string): Extract<SendResult, { ok: false }> {
  const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
  return { ok: false, provider, retryable, reason: `${reason} (HTTP ${res.status})`, retryAfterSeconds: retryAfterSeconds(res.headers.get('Retry-After')) };
}

/** A network error or timeout: always transient. */
export function networkFailure(provider: string, err: unknown): Extract<SendResult, { ok: false }> {
  const name = err instanceof Error ? err.name : 'Error';
  return { ok: false, provider, retryable: true, reason: name === 'TimeoutError' || name === 'AbortError' ? 'provider timeout' : 'network error' };
}

/** Reads a JSON body without ever throwing (providers sometimes answer HTML on 5xx). */
export async function readJson(res: Response): Promise<Record<string, unknown>> {
  try {
    const body: unknown = await res.json();
    return body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
