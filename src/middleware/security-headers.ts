import { createMiddleware } from 'hono/factory';

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Security headers on every response. Routes that serve HTML (the docs page) set their own
 * Content-Security-Policy before this runs, and it is kept.
 * @example app.use(securityHeaders())
 */
export const securityHeaders = () =>
  createMiddleware(async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains; preload');
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
    h.set('Referrer-Policy', 'no-referrer');
    h.set('Cross-Origin-Opener-Policy', 'same-origin');
    h.set('Cross-Origin-Resource-Policy', 'same-site');
    h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', API_CSP);
    h.delete('X-Powered-By');
  });

/**
 * `Cache-Control: no-store` unless the handler chose a policy (public, cacheable documents).
 * @example app.use('/api/*', noStore())
 */
export const noStore = () =>
  createMiddleware(async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
