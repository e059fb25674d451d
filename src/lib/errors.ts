import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The platform's error codes (any route can answer with them), with their default messages. */
const PLATFORM_ERRORS = {
  VALIDATION_ERROR: 'Invalid input',
  UNAUTHENTICATED: 'Authentication required',
  INVALID_TOKEN: 'Invalid or expired token',
  FORBIDDEN: 'You are not allowed to do this',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'Content-Type must be application/json',
  BUSINESS_RULE: 'The request breaks a business rule',
  UPGRADE_REQUIRED: 'This client version is no longer supported',
  RATE_LIMITED: 'Too many requests',
  SERVICE_UNAVAILABLE: 'Service temporarily unavailable',
  INTERNAL_ERROR: 'Internal server error',
} as const;

/**
 * A feature's own error maps, keyed by feature. Each `<feature>.errors.ts` adds its map here by
 * declaration merging, so `ErrorCode` is the union of every code in the program and a typo in
 * `new AppError(…)` or a route's `codes: [...]` fails to compile, while this module never
 * imports a feature.
 * @example declare module '../../lib/errors' { interface FeatureErrors { auth: typeof AUTH_ERRORS } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface FeatureErrors {}

type FeatureErrorCode = { [F in keyof FeatureErrors]: keyof FeatureErrors[F] & string }[keyof FeatureErrors];
export type PlatformErrorCode = keyof typeof PLATFORM_ERRORS;
export type ErrorCode = PlatformErrorCode | FeatureErrorCode;

/**
 * Every code on the wire with its default message: the platform's, then each feature map as its
 * module loads (a feature's routes or service import it). Read when an error is built and when
 * OpenAPI lists the codes, both after every module has loaded.
 */
export const ERROR_CODES = PLATFORM_ERRORS as Record<ErrorCode, string>;

// UPPER_SNAKE: upper-case letters and digits in words joined by single underscores; not a platform code.
type UpperSnake<K extends string> = K extends PlatformErrorCode
  ? never
  : K extends Uppercase<K>
    ? K extends '' | `_${string}` | `${string}_` | `${string}__${string}` | `${string}${' ' | '-' | '.' | ':' | '/'}${string}`
      ? never
      : K
    : never;

/**
 * Declares and registers a feature's error codes with their default messages.
 * @example export const AUTH_ERRORS = defineErrors({ INVALID_CREDENTIALS: 'Invalid email or password' });
 */
export function defineErrors<const M extends Record<string, string>>(map: M & { [K in keyof M]: K extends UpperSnake<K & string> ? string : never }): M {
  Object.assign(ERROR_CODES, map);
  return map;
}

export interface ErrorDetail {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  message?: string;
  details?: ErrorDetail[];
  /** Logged, never sent to the client. */
  reason?: string;
  /** The request failed schema validation before any business logic ran. */
  schema?: boolean;
  headers?: Record<string, string>;
  /** Extra members of the envelope's `error` object, declared in the route's response schema. */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error thrown anywhere in the app; `app.onError` renders it as the contract's envelope. */
export class AppError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: ErrorDetail[];
  readonly reason?: string;
  readonly schema: boolean;
  readonly extraHeaders?: Record<string, string>;
  readonly extra?: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, code: ErrorCode, options: AppErrorOptions = {}) {
    super(status, { message: options.message ?? ERROR_CODES[code], cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.reason = options.reason;
    this.schema = options.schema ?? false;
    this.extraHeaders = options.headers;
    this.extra = options.extra;
  }
}

export const notFound = (message?: string) => new AppError(404, 'NOT_FOUND', { message });
export const forbidden = (reason?: string) => new AppError(403, 'FORBIDDEN', { reason });
export const unauthenticated = (reason?: string) => new AppError(401, 'UNAUTHENTICATED', { reason });

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[]; requestId: string };
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: ErrorDetail[], extra?: Record<string, unknown>): ErrorBody {
  return { error: { ...extra, code, message, ...(details && details.length > 0 ? { details } : {}), requestId } };
}

/** The contract's envelope for an AppError, with its headers; its internal reason goes to the log only. */
export function appErrorResponse(c: Context, err: AppError, log: (reason: string) => void): Response {
  if (err.reason) log(err.reason);
  for (const [k, v] of Object.entries(err.extraHeaders ?? {})) c.header(k, v);
  return c.json(errorBody(err.code, err.message, c.get('requestId') ?? '', err.details, err.extra), err.status);
}
