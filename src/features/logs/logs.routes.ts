import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { LogPage, LogQuery } from './logs.schemas';
import { listLogs } from './logs.service';

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: 'Audit and event log, newest first (filters: level, actor, action, target, outcome, time range)',
  tags: ['logs'],
  access: permission('logs:read'),
  request: { query: LogQuery },
  responses: { 200: { description: 'A page of events', schema: LogPage } },
});

export const logsRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) => {
    const query = c.req.valid('query');
    if (query.cursor && query.cursor.k === undefined) {
      throw new AppError(400, 'VALIDATION_ERROR', { details: [{ field: 'cursor', message: 'Invalid cursor' }] });
    }
    return c.json(await listLogs(c.var.db, query));
  });
