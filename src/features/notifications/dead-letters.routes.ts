import { factory } from '../../lib/factory';
import { defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';
import { listDeadLetters } from './dead-letters.service';
import { DeadLetterPage, DeadLetterQuery } from './notifications.schemas';

const listRoute = defineRoute({
  method: 'get',
  path: '/dead-letters',
  summary: 'Failed notifications across every user, newest first (operators with notifications:read)',
  tags: ['notifications'],
  access: permission('notifications:read'),
  request: { query: DeadLetterQuery },
  responses: { 200: { description: 'A page of failed notifications, each with its user', schema: DeadLetterPage }, 400: { description: 'Invalid filter or cursor', schema: ErrorResponse } },
});

export const deadLettersRoutes = factory.createApp().get(listRoute.path, endpoint(listRoute), async (c) => c.json(await listDeadLetters(c.var.db, c.req.valid('query')), 200));
