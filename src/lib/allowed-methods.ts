import { fullPath, routeRegistry } from './route';

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface CompiledRoute {
  pattern: RegExp;
  method: string;
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

/**
 * The methods the route registry serves at a concrete path (`/api/v1/roles/0190…`), in a stable
 * order, with HEAD where GET exists (Hono answers HEAD from the GET handler) and OPTIONS (CORS
 * preflight). Empty when no route has that path: the caller answers 404, not 405.
 * Compiled on first use, after every feature module has declared its routes.
 */
export function allowedMethods(path: string): string[] {
  compiled ??= routeRegistry.map((spec) => ({ pattern: toPattern(fullPath(spec)), method: spec.method.toUpperCase() }));
  const methods = new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method));
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return ORDER.filter((m) => methods.has(m));
}
