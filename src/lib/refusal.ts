import type { Context } from 'hono';
import { appErrorResponse, type AppError } from './errors';
import { log } from './log';

/** An AppError as the response (app.onError, and the endpoint's validators: see middleware/endpoint.ts). */
export function refusal(c: Context, err: AppError): Response {
  return appErrorResponse(c, err, (reason) => log('info', 'request refused', { code: err.code, reason, requestId: c.get('requestId') ?? '' }));
}
