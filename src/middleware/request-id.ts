import { createMiddleware } from 'hono/factory';
import { uuidv7 } from '../lib/uuid';

export interface RequestIdVariables {
  requestId: string;
}

const WELL_FORMED = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Accepts a well-formed client `X-Request-Id` (8–128 of `[A-Za-z0-9._:-]`), else generates a
 * UUIDv7, and echoes it on every response.
 * @example app.use(requestId())
 */
export const requestId = () =>
  createMiddleware<{ Variables: RequestIdVariables }>(async (c, next) => {
    const given = c.req.header('X-Request-Id');
    const id = given && WELL_FORMED.test(given) ? given : uuidv7();
    c.set('requestId', id);
    await next();
    c.header('X-Request-Id', id);
  });
