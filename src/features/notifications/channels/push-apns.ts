import { importPKCS8, SignJWT } from 'jose';
import { classifyStatus, networkFailure, PROVIDER_TIMEOUT_MS, readJson } from './http';
import type { Fetcher, PushMessage, PushSender, SendResult } from './types';

export interface ApnsOptions {
  /** The .p8 key (PKCS#8 PEM) from the Apple developer account. */
  keyP8: string;
  keyId: string;
  teamId: string;
  bundleId: string;
  environment: 'sandbox' | 'production';
  baseUrl?: string;
  fetch?: Fetcher;
}

const PROVIDER = 'apns';
const HOSTS = { sandbox: 'https://api.sandbox.push.apple.com', production: 'https://api.push.apple.com' } as const;
// Apple refuses provider tokens older than 1 h and throttles refreshes more often than every
// 20 min (TooManyProviderTokenUpdates): refresh after 50 min.
export const APNS_TOKEN_MAX_AGE_MS = 50 * 60_000;

const tokenCache = new Map<string, { token: string; issuedAt: number }>();
const DEAD_TOKEN_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic']);

/**
 * Push through APNs with a provider token (ES256 JWT signed with jose, cached < 1 h).
 * APNs requires HTTP/2: deployed Workers negotiate it for fetch, local workerd does not, so
 * local tests stand at the HTTP boundary. 410 / BadDeviceToken mark the device token dead.
 */
export class ApnsPushSender implements PushSender {
  readonly provider = PROVIDER;
  private readonly fetch: Fetcher;
  constructor(private readonly options: ApnsOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private cacheKey(): string {
    return `${this.options.teamId}:${this.options.keyId}`;
  }

  private async providerToken(): Promise<string> {
    const cached = tokenCache.get(this.cacheKey());
    if (cached && Date.now() - cached.issuedAt < APNS_TOKEN_MAX_AGE_MS) return cached.token;
    const key = await importPKCS8(this.options.keyP8, 'ES256');
    const issuedAt = Date.now();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: this.options.keyId })
      .setIssuer(this.options.teamId)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .sign(key);
    tokenCache.set(this.cacheKey(), { token, issuedAt });
    return token;
  }

  async send(message: PushMessage): Promise<SendResult> {
    if (!/^[0-9a-fA-F]{64,200}$/.test(message.token)) {
      return { ok: false, provider: PROVIDER, retryable: false, deadToken: true, reason: 'apns BadDeviceToken (malformed)' };
    }
    let jwt: string;
    try {
      jwt = await this.providerToken();
    } catch {
      return { ok: false, provider: PROVIDER, retryable: true, reason: 'apns signing key unusable' };
    }
    const base = this.options.baseUrl ?? HOSTS[this.options.environment];
    const { notificationId, ...custom } = { ...message.data, notificationId: message.notificationId };
    let res: Response;
    try {
      res = await this.fetch(`${base}/3/device/${message.token}`, {
        method: 'POST',
        headers: {
          authorization: `bearer ${jwt}`,
          'apns-topic': this.options.bundleId,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'apns-id': message.notificationId,
          'apns-expiration': String(Math.floor(Date.now() / 1000) + 86_400),
          'content-type': 'application/json',
        },
        body: JSON.stringify({ aps: { alert: { title: message.title, body: message.body }, sound: 'default' }, notificationId, ...custom }),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      return networkFailure(PROVIDER, err);
    }
    if (res.ok) return { ok: true, provider: PROVIDER, providerMessageId: res.headers.get('apns-id') ?? message.notificationId };
    const reason = String((await readJson(res)).reason ?? 'error').slice(0, 60);
    if (res.status === 410 || DEAD_TOKEN_REASONS.has(reason)) {
      return { ok: false, provider: PROVIDER, retryable: false, deadToken: true, reason: `apns ${reason}` };
    }
    if (res.status === 403 && (reason === 'ExpiredProviderToken' || reason === 'InvalidProviderToken')) {
      tokenCache.delete(this.cacheKey());
      return { ok: false, provider: PROVIDER, retryable: true, reason: `apns ${reason}` };
    }
    return classifyStatus(PROVIDER, res, `apns ${reason}`);
  }
}

export function clearApnsTokenCache(): void {
  tokenCache.clear();
}
