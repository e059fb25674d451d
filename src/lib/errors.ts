import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Error codes on the wire, with their default messages (checked at compile time). */
export const ERROR_CODES = {
  VALIDATION_ERROR: 'Invalid input',
  UNAUTHENTICATED: 'Authentication required',
  INVALID_TOKEN: 'Invalid or expired token',
  INVALID_CREDENTIALS: 'Invalid email or password',
  INVALID_REFRESH_TOKEN: 'Invalid refresh token',
  MFA_REQUIRED: 'A two-factor code is required',
  INVALID_MFA_CODE: 'Invalid two-factor code',
  FORBIDDEN: 'You are not allowed to do this',
  PERMISSION_CEILING: 'You can only hand out permissions you hold yourself',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  CONFLICT: 'Conflict',
  EMAIL_TAKEN: 'An account with this email already exists',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'Content-Type must be application/json',
  BUSINESS_RULE: 'The request breaks a business rule',
  UPGRADE_REQUIRED: 'This client version is no longer supported',
  RATE_LIMITED: 'Too many requests',
  SERVICE_UNAVAILABLE: 'Service temporarily unavailable',
  INTERNAL_ERROR: 'Internal server error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

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
  cause?: unknown;
}

/** The one error thrown anywhere in the app; `app.onError` renders it as the contract's envelope. */
export class AppError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: ErrorDetail[];
  readonly reason?: string;
  readonly schema: boolean;
  readonly extraHeaders?: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: ErrorCode, options: AppErrorOptions = {}) {
    super(status, { message: options.message ?? ERROR_CODES[code], cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.reason = options.reason;
    this.schema = options.schema ?? false;
    this.extraHeaders = options.headers;
  }
}

export const notFound = (message?: string) => new AppError(404, 'NOT_FOUND', { message });
export const forbidden = (reason?: string) => new AppError(403, 'FORBIDDEN', { reason });
export const unauthenticated = (reason?: string) => new AppError(401, 'UNAUTHENTICATED', { reason });

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[]; requestId: string };
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: ErrorDetail[]): ErrorBody {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}), requestId } };
}

/** The contract's envelope for an AppError, with its headers; its internal reason goes to the log only. */
export function appErrorResponse(c: Context, err: AppError, log: (reason: string) => void): Response {
  if (err.reason) log(err.reason);
  for (const [k, v] of Object.entries(err.extraHeaders ?? {})) c.header(k, v);
  return c.json(errorBody(err.code, err.message, c.get('requestId') ?? '', err.details), err.status);
}
