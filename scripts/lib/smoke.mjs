// Post-deploy smoke test: GET /health, POST /auth/login with the smoke account, GET /users/me with
// the access token, then logout (best effort, so smoke runs leave no live sessions). With a
// version id every request carries Cloudflare-Workers-Version-Overrides, so a 10 % step still
// tests the new version and not whichever one the split picked; /health's `version` then proves
// which one answered. Tokens and the password are never printed.

const TIMEOUT_MS = 10_000;

/**
 * @param {{ baseUrl: string, email: string, password: string, workerName?: string, versionId?: string, expectVersion?: string }} options
 * @returns {Promise<{ ok: boolean, checks: { name: string, ok: boolean, status: number | null, ms: number, detail?: string }[] }>}
 */
export async function smoke({ baseUrl, email, password, workerName, versionId, expectVersion }) {
  const api = `${baseUrl.replace(/\/+$/, '')}/api/v1`;
  const headers = { 'User-Agent': 'app-ubr-smoke' };
  if (workerName && versionId) headers['Cloudflare-Workers-Version-Overrides'] = `${workerName}="${versionId}"`;
  const checks = [];
  const call = async (name, path, init, check) => {
    const start = Date.now();
    let status = null;
    try {
      const res = await fetch(`${api}${path}`, { ...init, headers: { ...headers, ...init.headers }, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
      status = res.status;
      const body = res.status === 204 ? null : await res.json().catch(() => null);
      const detail = check(res.status, body);
      checks.push({ name, ok: !detail, status, ms: Date.now() - start, ...(detail ? { detail } : {}) });
      return detail ? null : body ?? {};
    } catch (err) {
      checks.push({ name, ok: false, status, ms: Date.now() - start, detail: err.name === 'TimeoutError' ? 'timed out' : 'network error' });
      return null;
    }
  };
  const json = { 'Content-Type': 'application/json' };

  await call('health', '/health', { method: 'GET' }, (status, body) => {
    if (status !== 200 || body?.status !== 'ok') return `expected 200 ok, got ${status} ${body?.status ?? ''}`.trim();
    if (expectVersion && body.version !== expectVersion) return `version ${body.version}, expected ${expectVersion}`;
    return null;
  });
  const login = await call('login', '/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ email, password }) }, (status, body) =>
    status === 200 && typeof body?.accessToken === 'string' ? null : `expected 200 with a token pair, got ${status}`,
  );
  if (login) {
    const auth = { Authorization: `Bearer ${login.accessToken}` };
    await call('me', '/users/me', { method: 'GET', headers: auth }, (status, body) =>
      status === 200 && body?.email?.toLowerCase() === email.toLowerCase() ? null : `expected 200 for the smoke account, got ${status}`,
    );
    await call('logout', '/auth/logout', { method: 'POST', headers: auth }, (status) => (status === 204 ? null : `expected 204, got ${status}`));
  } else {
    checks.push({ name: 'me', ok: false, status: null, ms: 0, detail: 'skipped: login failed' });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/** smoke() until it passes, at most `attempts` times `intervalMs` apart (a new version can take a few seconds to be routable everywhere). */
export async function smokeWithRetries(options, { attempts = 3, intervalMs = 5_000 } = {}) {
  let result;
  for (let i = 1; i <= attempts; i++) {
    result = await smoke(options);
    result.attempts = i;
    if (result.ok) return result;
    if (i < attempts) await new Promise((r) => setTimeout(r, intervalMs));
  }
  return result;
}

export function describeChecks(checks) {
  return checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'} (${c.status ?? '-'}, ${c.ms} ms${c.detail ? `: ${c.detail}` : ''})`).join('; ');
}
