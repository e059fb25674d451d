import { exports } from 'cloudflare:workers';
import { assertResponseContract } from './contract';

export const BASE = 'http://127.0.0.1:8787';
let ipCounter = 0;

/** A distinct client IP per call site, so tests never share a rate-limit bucket by accident. */
export function freshIp(): string {
  ipCounter += 1;
  return `198.51.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  rawBody?: BodyInit;
  token?: string;
  headers?: Record<string, string>;
  ip?: string;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'CF-Connecting-IP': options.ip ?? '203.0.113.10', ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const method = options.method ?? (body ? 'POST' : 'GET');
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  await assertResponseContract(method, `${BASE}${path}`, res);
  return res;
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export interface TokenPair {
  user: { id: string; email: string; roles: string[]; fullName: string | null };
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

let userCounter = 0;
export const PASSWORD = 'correct horse battery staple';

export async function registerUser(overrides: { email?: string; password?: string; fullName?: string } = {}): Promise<TokenPair & { email: string; password: string }> {
  userCounter += 1;
  const email = overrides.email ?? `user${userCounter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = overrides.password ?? PASSWORD;
  const res = await call('/api/v1/auth/register', { body: { email, password, fullName: overrides.fullName }, ip: freshIp() });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { ...(await json<TokenPair>(res)), email, password };
}
