import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { freshIp } from '../helpers/api';
import { callWithEnv } from '../helpers/tokens';
import { isBreachedPassword } from '../../src/security/breached-passwords';
import type { RecordedRequest } from '../setup/global-pwned';

const pwned = inject('pwned');

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** A PWNED_PASSWORDS_URL of its own per test, so the recorded requests are this test's alone. */
function endpoint(mode: 'range' | 'slow' | 'fail'): { env: { PWNED_PASSWORDS_URL: string }; path: string; requests: () => Promise<RecordedRequest[]> } {
  const tag = crypto.randomUUID();
  const path = `/${mode}/${tag}`;
  return {
    env: { PWNED_PASSWORDS_URL: `${pwned.origin}${path}` },
    path,
    requests: async () => (await fetch(`${pwned.origin}/requests?tag=${tag}`)).json<RecordedRequest[]>(),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('breached passwords (k-anonymity range API)', () => {
  it('finds every breached password, whatever its prefix', async () => {
    const { env } = endpoint('range');
    for (const pw of pwned.breached) expect(await isBreachedPassword(env, pw), pw).toBe(true);
  });

  it('does not flag an unbreached password, nor one whose suffix is only a padding entry', async () => {
    const { env } = endpoint('range');
    expect(await isBreachedPassword(env, 'violet tractor 42 umbrella')).toBe(false);
    expect(await isBreachedPassword(env, pwned.paddedOnly)).toBe(false);
  });

  it('sends only the 5-character prefix, with padding requested, never the hash or its suffix', async () => {
    const { env, path, requests } = endpoint('range');
    const passwords = [...pwned.breached, 'violet tractor 42 umbrella'];
    for (const pw of passwords) await isBreachedPassword(env, pw);
    const seen = await requests();
    expect(seen).toHaveLength(passwords.length);
    for (const [i, pw] of passwords.entries()) {
      const hash = await sha1Hex(pw);
      const request = seen[i];
      expect(request?.method).toBe('GET');
      expect(request?.addPadding).toBe('true');
      expect(request?.path).toBe(`${path}/${hash.slice(0, 5)}`);
      expect(request?.path.toUpperCase()).not.toContain(hash.slice(5, 12));
    }
  });

  it('tolerates a trailing slash in the configured URL', async () => {
    const { env, path, requests } = endpoint('range');
    const pw = pwned.breached[0] ?? '';
    expect(await isBreachedPassword({ PWNED_PASSWORDS_URL: `${env.PWNED_PASSWORDS_URL}/` }, pw)).toBe(true);
    expect((await requests())[0]?.path).toBe(`${path}/${(await sha1Hex(pw)).slice(0, 5)}`);
  });

  it('fails open within about a second when the API does not answer, and logs no hash', async () => {
    const warn = vi.spyOn(console, 'warn');
    const { env, requests } = endpoint('slow');
    const pw = pwned.breached[0] ?? '';
    const started = Date.now();
    expect(await isBreachedPassword(env, pw)).toBe(false);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1_500);
    expect(await requests()).toHaveLength(1);
    const hash = await sha1Hex(pw);
    const lines = warn.mock.calls.map((args) => String(args[0]));
    expect(lines.some((line) => line.includes('failed open') && line.includes('"reason":"timeout"'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(hash.slice(0, 5));
      expect(line).not.toContain(hash.slice(5));
    }
  });

  it('caps a longer timeout at one second', async () => {
    const { env } = endpoint('slow');
    const started = Date.now();
    expect(await isBreachedPassword(env, 'anything at all', { timeoutMs: 10_000 })).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('fails open on a 500 and logs the status, not the prefix', async () => {
    const warn = vi.spyOn(console, 'warn');
    const { env, requests } = endpoint('fail');
    const pw = pwned.breached[1] ?? '';
    expect(await isBreachedPassword(env, pw)).toBe(false);
    expect(await requests()).toHaveLength(1);
    const prefix = (await sha1Hex(pw)).slice(0, 5);
    const lines = warn.mock.calls.map((args) => String(args[0]));
    expect(lines.some((line) => line.includes('"status":500'))).toBe(true);
    for (const line of lines) expect(line).not.toContain(prefix);
  });

  it('fails open when the API cannot be reached', async () => {
    const fetcher = vi.fn<typeof fetch>(async () => {
      throw new TypeError('Network connection lost.');
    });
    expect(await isBreachedPassword({ PWNED_PASSWORDS_URL: 'https://range.invalid' }, pwned.breached[0] ?? '', { fetcher })).toBe(false);
    expect(fetcher).toHaveBeenCalledTimes(1);
  });

  it('makes no request at all when not configured', async () => {
    const fetcher = vi.fn<typeof fetch>();
    for (const env of [{}, { PWNED_PASSWORDS_URL: '' }, { PWNED_PASSWORDS_URL: '   ' }]) {
      expect(await isBreachedPassword(env, pwned.breached[0] ?? '', { fetcher })).toBe(false);
    }
    expect(fetcher).not.toHaveBeenCalled();
  });
});

describe('breached passwords in the flows that set one', () => {
  it('refuses a breached password at registration with a field error, and accepts an unbreached one', async () => {
    const { env } = endpoint('range');
    const overrides = env as unknown as Partial<CloudflareBindings>;
    const bad = await callWithEnv(overrides, '/api/v1/auth/register', { body: { email: `pw-${crypto.randomUUID()}@example.com`, password: 'P@ssw0rd-from-2019' }, ip: freshIp() });
    expect(bad.status).toBe(400);
    const body = await bad.json<{ error: { details: { field: string; message: string }[] } }>();
    expect(body.error.details).toEqual([{ field: 'password', message: expect.stringMatching(/breach/) }]);
    const good = await callWithEnv(overrides, '/api/v1/auth/register', { body: { email: `pw-${crypto.randomUUID()}@example.com`, password: 'violet tractor 42 umbrella' }, ip: freshIp() });
    expect(good.status).toBe(201);
  });

  it('still registers when the range API is down (fails open)', async () => {
    const { env } = endpoint('fail');
    const res = await callWithEnv(env as unknown as Partial<CloudflareBindings>, '/api/v1/auth/register', { body: { email: `pw-${crypto.randomUUID()}@example.com`, password: 'P@ssw0rd-from-2019' }, ip: freshIp() });
    expect(res.status).toBe(201);
  });
});
