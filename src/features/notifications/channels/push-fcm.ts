import { importPKCS8, SignJWT } from 'jose';
import { classifyStatus, networkFailure, PROVIDER_TIMEOUT_MS, readJson } from './http';
import type { Fetcher, PushMessage, PushSender, SendResult } from './types';

export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri?: string;
}

export interface FcmOptions {
  serviceAccount: FcmServiceAccount;
  baseUrl?: string;
  fetch?: Fetcher;
}

const PROVIDER = 'fcm';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

// OAuth access tokens last an hour: cached per service account (per isolate) until a minute
// before expiry, so a burst of pushes costs one token exchange, not one per message.
const tokenCache = new Map<string, { token: string; expiresAt: number }>();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** Parses FCM_SERVICE_ACCOUNT_JSON; null when it is not a usable service account. */
export function parseServiceAccount(json: string): FcmServiceAccount | null {
  try {
    const v = JSON.parse(json) as Partial<FcmServiceAccount>;
    if (typeof v.project_id === 'string' && typeof v.client_email === 'string' && typeof v.private_key === 'string') {
      return { project_id: v.project_id, client_email: v.client_email, private_key: v.private_key, token_uri: typeof v.token_uri === 'string' ? v.token_uri : undefined };
    }
  } catch {
    // fall through
  }
  return null;
}

function fcmErrorCode(body: Record<string, unknown>): string | undefined {
  const error = body.error as { status?: string; details?: { '@type'?: string; errorCode?: string }[] } | undefined;
  const detail = error?.details?.find((d) => d['@type']?.endsWith('FcmError'));
  return detail?.errorCode ?? error?.status;
}

/**
 * Push through FCM HTTP v1. Auth: a service-account JWT (RS256, signed with jose) exchanged
 * for an OAuth access token, cached until expiry. UNREGISTERED and SENDER_ID_MISMATCH mean
 * the device token is dead (the consumer removes it); 401 drops the cached token and retries.
 */
export class FcmPushSender implements PushSender {
  readonly provider = PROVIDER;
  private readonly fetch: Fetcher;
  constructor(private readonly options: FcmOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private async accessToken(): Promise<string | SendResult> {
    const sa = this.options.serviceAccount;
    const cached = tokenCache.get(sa.client_email);
    if (cached && cached.expiresAt - 60_000 > Date.now()) return cached.token;
    let keyPromise = keyCache.get(sa.client_email);
    if (!keyPromise) {
      keyPromise = importPKCS8(sa.private_key, 'RS256');
      keyCache.set(sa.client_email, keyPromise);
      keyPromise.catch(() => keyCache.delete(sa.client_email));
    }
    const tokenUri = sa.token_uri ?? DEFAULT_TOKEN_URI;
    let res: Response;
    try {
      const assertion = await new SignJWT({ scope: SCOPE })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .setIssuer(sa.client_email)
        .setSubject(sa.client_email)
        .setAudience(tokenUri)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(await keyPromise);
      res = await this.fetch(tokenUri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof TypeError || (err instanceof Error && /key|pkcs8/i.test(err.message))) {
        return { ok: false, provider: PROVIDER, retryable: true, reason: 'fcm service account key unusable' };
      }
      return networkFailure(PROVIDER, err);
    }
    const body = await readJson(res);
    if (!res.ok || typeof body.access_token !== 'string') return { ...classifyStatus(PROVIDER, res, 'fcm oauth exchange failed'), retryable: true };
    const ttl = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    tokenCache.set(sa.client_email, { token: body.access_token, expiresAt: Date.now() + ttl * 1000 });
    return body.access_token;
  }

  async send(message: PushMessage): Promise<SendResult> {
    const token = await this.accessToken();
    if (typeof token !== 'string') return token;
    const url = `${this.options.baseUrl ?? 'https://fcm.googleapis.com'}/v1/projects/${encodeURIComponent(this.options.serviceAccount.project_id)}/messages:send`;
    let res: Response;
    try {
      res = await this.fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          message: {
            token: message.token,
            notification: { title: message.title, body: message.body },
            data: { ...message.data, notificationId: message.notificationId },
            android: { priority: 'high' },
          },
        }),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      return networkFailure(PROVIDER, err);
    }
    const body = await readJson(res);
    if (res.ok) return { ok: true, provider: PROVIDER, providerMessageId: typeof body.name === 'string' ? body.name : undefined };
    const code = fcmErrorCode(body);
    if (code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH') {
      return { ok: false, provider: PROVIDER, retryable: false, deadToken: true, reason: `fcm ${code}` };
    }
    if (res.status === 401) {
      tokenCache.delete(this.options.serviceAccount.client_email);
      return { ok: false, provider: PROVIDER, retryable: true, reason: 'fcm access token rejected (HTTP 401)' };
    }
    return classifyStatus(PROVIDER, res, `fcm ${code ?? 'error'}`);
  }
}

/** Test hook: forget cached OAuth tokens (each test starts from a cold isolate's state). */
export function clearFcmTokenCache(): void {
  tokenCache.clear();
  keyCache.clear();
}
