import { DurableObject } from 'cloudflare:workers';

/** One object per rate-limit key (see issue 5 for the algorithm). */
export class RateLimiter extends DurableObject<CloudflareBindings> {
  ping(): string {
    return 'pong';
  }
}
