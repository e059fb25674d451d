import * as z from 'zod/mini';
import { getConfig } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute, PUBLIC } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse } from '../docs/common.schemas';

const TicketResponse = z.object({ ticket: z.string(), expiresAt: z.string(), url: z.string() });
// "<user public id>.<43 base64url chars>": the user part routes to the right hub only; the
// hub accepts the ticket only if it issued it.
const StreamQuery = z.strictObject({ ticket: z.string().check(z.regex(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/, 'Invalid ticket')) });

const ticketRoute = defineRoute({
  method: 'post',
  path: '/stream/ticket',
  summary: 'A single-use ticket (30 s) to open the live in-app notification WebSocket',
  tags: ['notifications'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Ticket and the URL to connect to', schema: TicketResponse } },
});

const streamRoute = defineRoute({
  method: 'get',
  path: '/stream',
  summary: 'WebSocket of live in-app notifications; authenticated by a ticket from POST /notifications/stream/ticket',
  tags: ['notifications'],
  access: PUBLIC,
  request: { query: StreamQuery },
  responses: {
    101: { description: 'Switching protocols' },
    400: { description: 'Not a WebSocket upgrade, or malformed ticket', schema: ErrorResponse },
    401: { description: 'Unknown, used or expired ticket', schema: ErrorResponse, codes: ['INVALID_TOKEN'] },
    403: { description: 'Origin not allowed', schema: ErrorResponse },
  },
});

export const streamRoutes = factory
  .createApp()
  .post(ticketRoute.path, endpoint(ticketRoute), async (c) => {
    const auth = c.var.auth;
    const hub = c.env.NOTIFICATION_HUB.get(c.env.NOTIFICATION_HUB.idFromName(auth.userId));
    const { ticket, expiresAt } = await hub.issueTicket(auth.userId, auth.sessionId);
    const url = new URL(c.req.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = url.pathname.replace(/\/ticket$/, '');
    url.search = `?ticket=${ticket}`;
    return c.json({ ticket, expiresAt: new Date(expiresAt).toISOString(), url: url.toString() });
  })
  .get(streamRoute.path, endpoint(streamRoute), async (c) => {
    if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
      throw new AppError(400, 'VALIDATION_ERROR', { message: 'Expected a WebSocket upgrade', details: [{ field: 'Upgrade', message: 'Must be websocket' }] });
    }
    // Cross-site WebSocket hijacking: a browser always sends Origin; it must be one of ours.
    const origin = c.req.header('Origin');
    if (origin && !getConfig(c.env).corsOrigins.includes(origin)) throw new AppError(403, 'FORBIDDEN', { reason: 'websocket origin not allowed' });
    const { ticket } = c.req.valid('query');
    const userId = ticket.slice(0, 36);
    const hub = c.env.NOTIFICATION_HUB.get(c.env.NOTIFICATION_HUB.idFromName(userId));
    const res = await hub.fetch('https://hub.internal/connect', { headers: { Upgrade: 'websocket', 'X-Hub-Ticket': ticket } });
    if (res.status === 401) throw new AppError(401, 'INVALID_TOKEN', { reason: 'websocket ticket rejected' });
    if (res.status !== 101 || !res.webSocket) throw new AppError(503, 'SERVICE_UNAVAILABLE', { reason: `hub answered ${res.status}` });
    // A fresh Response: the hub's has immutable headers, and the global middleware adds some.
    return new Response(null, { status: 101, webSocket: res.webSocket });
  });
