import type { MiddlewareHandler } from 'hono';
import * as z from 'zod/mini';
import { AppError, type ErrorDetail } from './errors';
import type { AppEnv } from './factory';

export type Target = 'json' | 'query' | 'param';

/** One detail per failing field; an unknown key is named on its own line with a clear message. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const field = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ field: field ? `${field}.${k}` : k, message: 'Unknown or read-only field: it cannot be set here' }));
    }
    return [{ field: field || '(body)', message: issue.message }];
  });
}

/**
 * A string field's error: "X is required" when absent, "X must be a string" for another type,
 * and zod's own message for everything else (length, format).
 */
export function stringField(label: string) {
  return {
    error: (issue: z.core.$ZodRawIssue) =>
      issue.code === 'invalid_type' ? (issue.input === undefined ? `${label} is required` : `${label} must be a string`) : undefined,
  };
}

/**
 * Validates one part of the request against a zod schema and hands the typed result to
 * `c.req.valid(target)`. Every failing field is reported at once, in the contract's envelope.
 * @example router.post('/x', validate('json', Body), (c) => c.json(c.req.valid('json')))
 */
export function validate<T extends Target, S extends z.ZodMiniType>(
  target: T,
  schema: S,
): MiddlewareHandler<AppEnv, string, { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }> {
  return async (c, next) => {
    const value = target === 'json' ? (c.var.jsonBody ?? undefined) : target === 'query' ? c.req.query() : c.req.param();
    if (target === 'json' && value === undefined) {
      throw new AppError(400, 'VALIDATION_ERROR', { schema: true, details: [{ field: '(body)', message: 'A JSON body is required' }] });
    }
    const result = await z.safeParseAsync(schema, value);
    if (!result.success) throw new AppError(400, 'VALIDATION_ERROR', { schema: true, details: issuesToDetails(result.error.issues) });
    c.req.addValidatedData(target, result.data as object);
    await next();
  };
}
