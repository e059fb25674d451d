import type { Context, MiddlewareHandler } from 'hono';
import * as z from 'zod/mini';
import { AppError } from '../lib/errors';
import type { AppEnv } from '../lib/factory';
import { refusal } from '../lib/refusal';
import { bindEndpoint, type RouteSpec } from '../lib/route';
import { issuesToDetails } from '../lib/validation';
import type { AuthContext } from './auth';
import { guard } from './guard';
import { idempotent } from './idempotency';

type Schema = z.ZodMiniType;
type RequestOf<S> = S extends { request: infer R } ? R : object;
type Field<R, K extends string> = R extends { [k in K]: infer Z extends Schema } ? Z : never;

/** What `c.req.valid(...)` returns, per part the spec declares. */
type ValidOut<R> = ([Field<R, 'body'>] extends [never] ? object : { json: z.output<Field<R, 'body'>> | OwnerOut<R> }) &
  ([Field<R, 'query'>] extends [never] ? object : { query: z.output<Field<R, 'query'>> }) &
  ([Field<R, 'params'>] extends [never] ? object : { param: z.output<Field<R, 'params'>> });
type OwnerOut<R> = [Field<R, 'ownerBody'>] extends [never] ? never : z.output<Field<R, 'ownerBody'>>;

/** What a client sends (Hono's typed client `hc` reads it). */
type ValidIn<R> = ([Field<R, 'body'>] extends [never] ? object : { json: z.input<Field<R, 'body'>> }) &
  ([Field<R, 'query'>] extends [never] ? object : { query: { [K in keyof z.input<Field<R, 'query'>>]: string } }) &
  ([Field<R, 'params'>] extends [never] ? object : { param: { [K in keyof z.input<Field<R, 'params'>>]: string } });

/** The env of a handler behind the guard of a protected route: `c.var.auth` is set. */
export type AuthedEnv = AppEnv & { Variables: { auth: AuthContext } };
type EndpointEnv<S extends RouteSpec> = S['access'] extends { kind: 'public' } ? AppEnv : AuthedEnv;

export type EndpointInput<S extends RouteSpec> = { in: ValidIn<RequestOf<S>>; out: ValidOut<RequestOf<S>> };

async function check(schema: Schema, value: unknown): Promise<unknown> {
  const result = await z.safeParseAsync(schema, value);
  if (!result.success) throw new AppError(400, 'VALIDATION_ERROR', { schema: true, details: issuesToDetails(result.error.issues) });
  return result.data;
}

/**
 * Everything a route's spec says, as the one middleware in front of its handler: the guard
 * (authentication, permission, ownership, rate limit) and then the declared params, query and
 * body, validated in that order (one 400 per part, every failing field listed). The handler's
 * context is typed from the spec: `c.req.valid('json' | 'query' | 'param')` and, on protected
 * routes, a non-optional `c.var.auth`.
 * With `ownerBody`, a caller who passes the guard as the owner (without the route's permission)
 * is held to that narrower body. With `idempotent: true`, an `Idempotency-Key` header is then
 * honoured around the handler (see idempotency.ts).
 * @example router.post(spec.path, endpoint(spec), (c) => c.json(c.req.valid('json'), 201))
 */
export function endpoint<const S extends RouteSpec>(spec: S): MiddlewareHandler<EndpointEnv<S>, S['path'], EndpointInput<S>> {
  const protect = guard(spec);
  const { params, query, body, ownerBody } = spec.request ?? {};
  const validated = async (c: Context<AppEnv>) => {
    if (params) c.req.addValidatedData('param', (await check(params, c.req.param())) as object);
    if (query) c.req.addValidatedData('query', (await check(query, c.req.query())) as object);
    if (body) {
      const value = c.var.jsonBody ?? undefined;
      if (value === undefined) throw new AppError(400, 'VALIDATION_ERROR', { schema: true, details: [{ field: '(body)', message: 'A JSON body is required' }] });
      const asOwner = ownerBody && spec.access.kind === 'permission' && !c.var.auth?.permissions.has(spec.access.permission);
      c.req.addValidatedData('json', (await check(asOwner ? ownerBody : body, value)) as object);
    }
  };
  const handler: MiddlewareHandler<AppEnv> = (c, next) =>
    protect(c, async () => {
      try {
        await validated(c);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        // Rendered here, as Hono renders an error thrown by a next middleware: the limiter around
        // this sees the 400 in `c.error` / `c.res` (a schema refusal gives its auth slot back).
        c.error = err;
        c.res = refusal(c, err);
        return;
      }
      if (!spec.idempotent) return next();
      try {
        await idempotent(c, next);
      } catch (err) {
        // 409 / 422 / a malformed key: rendered here too, for the limiter around this.
        if (!(err instanceof AppError)) throw err;
        c.error = err;
        c.res = refusal(c, err);
      }
    });
  bindEndpoint(handler, spec);
  return handler as unknown as MiddlewareHandler<EndpointEnv<S>, S['path'], EndpointInput<S>>;
}
