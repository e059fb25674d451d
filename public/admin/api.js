// The console's only way to the backend: the public API, same origin, with the operator's own
// tokens. Tokens live in this module's memory only (never localStorage, sessionStorage, cookies
// or IndexedDB): a reload or a closed tab means signing in again, and nothing a script injected
// later in another page of the origin could read survives the tab.
const BASE = '/api/v1';

/** @type {{ accessToken: string, refreshToken: string, deviceToken?: string, expiresAt: number, user: any } | null} */
let session = null;
let refreshing = null;
let onEnd = () => {};

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

export const currentUser = () => session?.user ?? null;
export const onSessionEnd = (fn) => {
  onEnd = fn;
};

async function send(method, path, { query, body, token } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
  if (res.status === 204) return { res, data: null };
  const data = await res.json().catch(() => null);
  return { res, data };
}

function fail(res, data) {
  const e = data?.error ?? {};
  return new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.requestId);
}

function adopt(data) {
  session = {
    accessToken: data.accessToken,
    refreshToken: data.refreshToken,
    deviceToken: data.deviceToken ?? session?.deviceToken,
    expiresAt: Date.now() + data.expiresIn * 1000,
    user: data.user,
  };
}

/** Password sign-in; a second call with `mfaCode` completes the two-factor step. Throws ApiError (MFA_REQUIRED, …). */
export async function signIn(email, password, mfaCode) {
  const body = { email, password };
  if (mfaCode) body.mfaCode = mfaCode;
  const { res, data } = await send('POST', '/auth/login', { body });
  if (!res.ok) throw fail(res, data);
  adopt(data);
  return data.user;
}

/** One refresh at a time (the API rotates the refresh token on every use). */
function refresh() {
  refreshing ??= (async () => {
    const current = session;
    if (!current) throw new ApiError(401, 'UNAUTHENTICATED', 'Signed out');
    const body = { refreshToken: current.refreshToken };
    if (current.deviceToken) body.deviceToken = current.deviceToken;
    const { res, data } = await send('POST', '/auth/refresh', { body });
    if (!res.ok) {
      end();
      throw fail(res, data);
    }
    adopt(data);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function end() {
  session = null;
  onEnd();
}

export async function signOut() {
  const token = session?.accessToken;
  session = null;
  if (token) await send('POST', '/auth/logout', { token }).catch(() => {});
  onEnd();
}

/** An authenticated call: refreshes shortly before expiry and once after a 401. Throws ApiError. */
export async function api(method, path, options = {}) {
  if (!session) throw new ApiError(401, 'UNAUTHENTICATED', 'Signed out');
  if (Date.now() > session.expiresAt - 30_000) await refresh();
  let { res, data } = await send(method, path, { ...options, token: session.accessToken });
  if (res.status === 401 && session) {
    await refresh();
    ({ res, data } = await send(method, path, { ...options, token: session.accessToken }));
  }
  if (res.status === 401) end();
  if (!res.ok) throw fail(res, data);
  return data;
}
