// The console's only way to the backend: the public API, same origin, with the operator's own
// tokens. The access token lives in this module's memory only (never localStorage,
// sessionStorage or IndexedDB). The refresh token never stays in the page: right after sign-in
// it is handed to POST /auth/console/session, which rotates it into an HttpOnly, Secure,
// SameSite=Strict cookie scoped to /api/v1/auth/console; a reload resumes through
// POST /auth/console/refresh (custom header + same-origin Origin). README "Admin console" has
// the threat model.
const BASE = '/api/v1';

/** @type {{ accessToken: string, deviceToken?: string, expiresAt: number, user: any } | null} */
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

const CONSOLE = '/auth/console';

async function send(method, path, { query, body, token, console: viaConsole } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  // Only the console routes carry the cookie (its Path is theirs too) and the CSRF header.
  if (viaConsole) headers['X-Console-Request'] = '1';
  const credentials = viaConsole ? 'same-origin' : 'omit';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials, cache: 'no-store', referrerPolicy: 'no-referrer' });
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
  return handOver(data);
}

/** Trades the sign-in's refresh token for the console cookie: the token is spent before this returns. */
async function handOver(pair) {
  const { res, data } = await send('POST', `${CONSOLE}/session`, { body: { refreshToken: pair.refreshToken }, console: true });
  if (!res.ok) throw fail(res, data);
  adopt({ ...data, deviceToken: pair.deviceToken });
  return data.user;
}

/** Passkey sign-in (discoverable credential, no email): options, the browser's ceremony, verify, hand-over. */
export async function signInWithPasskey() {
  if (!window.PublicKeyCredential) throw new ApiError(0, 'PASSKEYS_UNSUPPORTED', 'This browser has no passkey support');
  const start = await send('POST', '/auth/passkeys/login/options');
  if (!start.res.ok) throw fail(start.res, start.data);
  const { challengeId, options } = start.data;
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  if (!credential) throw new ApiError(0, 'PASSKEY_CANCELLED', 'No passkey was chosen');
  const body = { challengeId, credential: credential.toJSON() };
  const { res, data } = await send('POST', '/auth/passkeys/login/verify', { body });
  if (!res.ok) throw fail(res, data);
  return handOver(data);
}

/**
 * Rotates the cookie. Tabs share the cookie: two rotating it at the same instant would present
 * one token twice, which the API treats as theft (family revoked). A Web Lock serialises them,
 * so the second tab sends the cookie the first one just received.
 */
function rotateCookie() {
  const call = () => send('POST', `${CONSOLE}/refresh`, { console: true });
  return navigator.locks ? navigator.locks.request('app-ubr-console-refresh', call) : call();
}

/** On load: resume the session of the console cookie, if any. Null when there is none (sign in). */
export async function resume() {
  const { res, data } = await rotateCookie();
  if (!res.ok) return null;
  adopt(data);
  return data.user;
}

/** One refresh at a time (the API rotates the refresh cookie on every use). */
function refresh() {
  refreshing ??= (async () => {
    if (!session) throw new ApiError(401, 'UNAUTHENTICATED', 'Signed out');
    const { res, data } = await rotateCookie();
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
  session = null;
  // Ends the cookie's session and clears the cookie (also when the access token already expired).
  await send('POST', `${CONSOLE}/logout`, { console: true }).catch(() => {});
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
