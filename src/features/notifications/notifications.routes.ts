import { eq } from 'drizzle-orm';
import { users } from '../../db/schema/auth';
import { audit } from '../../lib/audit';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute, permission } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { ListQuery, NotificationIdParams, NotificationPage, ReadAllResponse, SendNotificationBody, SendResponse, UserIdParams } from './notifications.schemas';
import { listNotifications, markAllRead, markRead, sendToUser } from './notifications.service';

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: "The caller's notifications (every channel, with delivery status), newest first",
  tags: ['notifications'],
  access: AUTHENTICATED,
  request: { query: ListQuery },
  responses: { 200: { description: 'A page of notifications', schema: NotificationPage }, 400: { description: 'Invalid filter or cursor', schema: ErrorResponse } },
});

const readAllRoute = defineRoute({
  method: 'post',
  path: '/read-all',
  summary: "Mark every one of the caller's notifications read",
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'How many were marked', schema: ReadAllResponse } },
});

const readRoute = defineRoute({
  method: 'post',
  path: '/:id/read',
  summary: 'Mark one of the caller’s notifications read (idempotent)',
  tags: ['notifications'],
  access: AUTHENTICATED,
  request: { params: NotificationIdParams },
  responses: { 204: NoContent, 404: { description: 'No such notification of the caller', schema: ErrorResponse } },
});

const userListRoute = defineRoute({
  method: 'get',
  path: '/users/:id',
  summary: "A user's notifications (admins with notifications:read, or the user)",
  tags: ['notifications'],
  access: permission('notifications:read', 'id'),
  request: { params: UserIdParams, query: ListQuery },
  responses: { 200: { description: 'A page of notifications', schema: NotificationPage }, 404: { description: 'Unknown user, or not allowed', schema: ErrorResponse } },
});

const sendRoute = defineRoute({
  method: 'post',
  path: '/',
  idempotent: true,
  summary: 'Send a notification to a user through the queue (operators; business code calls notify())',
  tags: ['notifications'],
  access: permission('notifications:write'),
  rateLimit: 'expensive',
  request: { body: SendNotificationBody },
  responses: {
    202: { description: 'Recorded as queued (or the existing records for a reused idempotency key)', schema: SendResponse },
    400: { description: 'Invalid input (also category `security`: those notices come from the system only)', schema: ErrorResponse },
    404: { description: 'Unknown or deleted user', schema: ErrorResponse },
    409: { description: 'CONFLICT: the idempotency key was used for another request', schema: ErrorResponse, codes: ['CONFLICT'] },
    422: { description: "`to.email` / `to.phone` is not the user's own address", schema: ErrorResponse },
  },
});

export const notificationsRoutes = factory
  .createApp()
  .get(listRoute.path, endpoint(listRoute), async (c) => {
    return c.json(await listNotifications(c.var.db, c.var.auth.userId, c.req.valid('query')));
  })
  .post(readAllRoute.path, endpoint(readAllRoute), async (c) => {
    return c.json({ updated: await markAllRead(c.var.db, c.var.auth.userId) });
  })
  .post(readRoute.path, endpoint(readRoute), async (c) => {
    if (!(await markRead(c.var.db, c.var.auth.userId, c.req.valid('param').id))) throw new AppError(404, 'NOT_FOUND');
    return c.body(null, 204);
  })
  .get(userListRoute.path, endpoint(userListRoute), async (c) => {
    const { id: userId } = c.req.valid('param');
    const exists = await c.var.db.auth.select({ id: users.id }).from(users).where(eq(users.publicId, userId)).get();
    if (!exists) throw new AppError(404, 'NOT_FOUND');
    return c.json(await listNotifications(c.var.db, userId, c.req.valid('query')));
  })
  .post(sendRoute.path, endpoint(sendRoute), async (c) => {
    const input = c.req.valid('json');
    const result = await sendToUser({ db: c.var.db, env: c.env }, input);
    audit(c, { action: 'notification.send', outcome: 'success', targetId: input.userId, details: { channels: input.channels, kind: input.kind, category: input.category } });
    return c.json(result, 202);
  });
