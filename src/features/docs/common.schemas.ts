import * as z from 'zod/mini';
import type { ResponseSpec } from '../../lib/route';

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
    requestId: z.string(),
  }),
});

export const NoContent: ResponseSpec = { description: 'No content' };
