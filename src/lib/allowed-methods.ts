import { mountedRoutes, type RouteSpec } from './route';

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface CompiledRoute {
  pattern: RegExp;
  method: string;
  spec: RouteSpec;
}

let compiled: CompiledRoute[] | undefined;

/** A Hono path (`/users/:id/roles/:roleId`) as a regex; a trailing slash matches too (strict: false). */
function toPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function compiledRoutes(): CompiledRoute[] {
  compiled ??= mountedRoutes().map(({ path, spec }) => ({ pattern: toPattern(path), method: spec.method.toUpperCase(), spec }));
  return compiled;
}

/** The spec of the route that serves `method path` (the first mounted match, as Hono picks it). */
export function routeAt(method: string, path: string): RouteSpec | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return compiledRoutes().find((r) => r.method === m && r.pattern.test(path))?.spec;
}

/**
 * The methods the mounted routes serve at a concrete path (`/api/v1/roles/0190…`), in a stable
 * order, with HEAD where GET exists (Hono answers HEAD from the GET handler) and OPTIONS (CORS
 * preflight). Empty when no route has that path: the caller answers 404, not 405.
 * Compiled on first use, after app.ts has mounted every router.
 */
export function allowedMethods(path: string): string[] {
  const methods = new Set(compiledRoutes().filter((r) => r.pattern.test(path)).map((r) => r.method));
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return ORDER.filter((m) => methods.has(m));
}
