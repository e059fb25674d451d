// Breached-password check through a k-anonymity range API (the Pwned Passwords protocol):
// only the first 5 hex characters of the password's SHA-1 leave the Worker; the API answers
// every suffix it knows under that prefix, and the match is made here. `Add-Padding: true`
// asks for decoy entries (count 0) so the response size does not hint at the prefix either.
// Fails open: an outage of the API must not block sign-ups or password changes, the local
// common-password list (./common-passwords.ts) still applies.
import { log } from '../lib/log';

export const BREACHED_PASSWORD_TIMEOUT_MS = 1_000;

export interface BreachedPasswordOptions {
  /** At most 1,000 ms: a slow API costs the user that much, once. */
  timeoutMs?: number;
  fetcher?: typeof fetch;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** True when the range API lists the password with a non-zero count; false if not configured or on any failure. */
export async function isBreachedPassword(env: { PWNED_PASSWORDS_URL?: string }, password: string, options: BreachedPasswordOptions = {}): Promise<boolean> {
  const base = env.PWNED_PASSWORDS_URL?.trim().replace(/\/+$/, '');
  if (!base) return false;
  const timeoutMs = Math.min(options.timeoutMs ?? BREACHED_PASSWORD_TIMEOUT_MS, BREACHED_PASSWORD_TIMEOUT_MS);
  const fetcher = options.fetcher ?? fetch;
  const hash = await sha1Hex(password);
  const prefix = hash.slice(0, 5);
  const suffix = hash.slice(5);
  const started = Date.now();
  try {
    const res = await fetcher(`${base}/${prefix}`, {
      headers: { 'Add-Padding': 'true' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      // Neither the prefix nor any hash in the log: together with the time they narrow the password.
      log('warn', 'breached-password check failed open', { reason: 'status', status: res.status });
      return false;
    }
    const body = await res.text();
    for (const line of body.split('\n')) {
      const [candidate, count] = line.trim().split(':');
      if (candidate?.toUpperCase() === suffix && Number(count) > 0) return true;
    }
    return false;
  } catch (err) {
    const reason = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? 'timeout' : 'network';
    log('warn', 'breached-password check failed open', { reason, elapsedMs: Date.now() - started });
    return false;
  }
}

/**
 * A new password's refusal reason, or null: the local policy first (length, common list, the
 * account's own email), then the breached-password range check when configured.
 */
export async function newPasswordRefusal(env: object, password: string, email: string, policy: (p: string, e: string) => Promise<string | null>): Promise<string | null> {
  const local = await policy(password, email);
  if (local) return local;
  return (await isBreachedPassword(env as { PWNED_PASSWORDS_URL?: string }, password)) ? 'This password has appeared in a data breach; choose another' : null;
}
