import { DurableObject } from 'cloudflare:workers';
import { randomToken, sha256Hex } from '../lib/crypto';

/** What connected clients receive for each in-app notification. */
export interface HubEvent {
  type: 'notification';
  id: string;
  kind: string;
  category: string;
  title: string;
  body: string;
  data: Record<string, string> | null;
}

interface Ticket {
  sessionId: string;
  expiresAt: number;
}

export interface SocketAttachment {
  sessionId: string;
  connectedAt: number;
  /** After this the socket is closed (4001) and the client must fetch a new ticket. */
  expiresAt: number;
}

export const TICKET_TTL_MS = 30_000;
export const MAX_SOCKETS_PER_USER = 10;
// Matches the access-token lifetime: a revoked session loses its live feed within 15 min,
// because a new ticket needs a valid access token and a live session.
export const SOCKET_MAX_AGE_MS = 15 * 60_000;
export const CLOSE_REAUTH = 4001;
export const CLOSE_TOO_MANY = 4008;
/** The session behind the socket ended (logout, revocation, recovery): sign in again. */
export const CLOSE_SESSION_ENDED = 4003;

/**
 * One object per user (`idFromName(userPublicId)`): the user's live in-app feed over
 * WebSockets, using the hibernation API so idle connections cost nothing. Authentication:
 * the API issues a single-use ticket (30 s) to a signed-in caller; the upgrade request
 * presents it and the object consumes it. Browsers cannot set Authorization on a WebSocket,
 * and a ticket keeps the access token out of URLs and logs.
 */
export class NotificationHub extends DurableObject<CloudflareBindings> {
  constructor(ctx: DurableObjectState, env: CloudflareBindings) {
    super(ctx, env);
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  /** Liveness for /health: answers without touching storage or sockets. */
  ping(): string {
    return 'pong';
  }

  async issueTicket(userPublicId: string, sessionId: string): Promise<{ ticket: string; expiresAt: number }> {
    const ticket = `${userPublicId}.${randomToken(32)}`;
    const expiresAt = Date.now() + TICKET_TTL_MS;
    await this.purgeExpiredTickets();
    await this.ctx.storage.put(`ticket:${await sha256Hex(ticket)}`, { sessionId, expiresAt } satisfies Ticket);
    return { ticket, expiresAt };
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 400 });
    const key = `ticket:${await sha256Hex(request.headers.get('X-Hub-Ticket') ?? '')}`;
    // Input gates keep this get + delete atomic against a concurrent upgrade with the same ticket.
    const ticket = await this.ctx.storage.get<Ticket>(key);
    if (!ticket) return new Response('Invalid ticket', { status: 401 });
    await this.ctx.storage.delete(key);
    if (ticket.expiresAt < Date.now()) return new Response('Expired ticket', { status: 401 });

    const open = this.ctx.getWebSockets();
    if (open.length >= MAX_SOCKETS_PER_USER) {
      const oldest = open.map((ws) => ({ ws, a: ws.deserializeAttachment() as SocketAttachment | null })).sort((x, y) => (x.a?.connectedAt ?? 0) - (y.a?.connectedAt ?? 0));
      for (const { ws } of oldest.slice(0, open.length - MAX_SOCKETS_PER_USER + 1)) ws.close(CLOSE_TOO_MANY, 'too many connections');
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [ticket.sessionId]);
    const now = Date.now();
    server.serializeAttachment({ sessionId: ticket.sessionId, connectedAt: now, expiresAt: now + SOCKET_MAX_AGE_MS } satisfies SocketAttachment);
    await this.scheduleSweep(now + SOCKET_MAX_AGE_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends an event to every open socket of this user; returns how many received it. */
  publish(event: HubEvent): number {
    const text = JSON.stringify(event);
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
        sent += 1;
      } catch {
        // A socket closing concurrently: its client reloads the inbox on reconnect.
      }
    }
    return sent;
  }

  /**
   * Closes the sockets of ended sessions at once (logout, revocation, password reset, email
   * change): `only` closes one session's sockets, `except` every socket but that session's,
   * neither closes them all. Returns how many were closed.
   */
  disconnect(filter: { only?: string; except?: string } = {}): number {
    let closed = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const sessionId = (ws.deserializeAttachment() as SocketAttachment | null)?.sessionId;
      if (filter.only !== undefined && sessionId !== filter.only) continue;
      if (filter.except !== undefined && sessionId === filter.except) continue;
      try {
        ws.close(CLOSE_SESSION_ENDED, 'session ended');
        closed += 1;
      } catch {
        // Already closing.
      }
    }
    return closed;
  }

  connectionCount(): number {
    return this.ctx.getWebSockets().length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The feed is server → client only; anything bigger than a control word is abuse.
    const size = typeof message === 'string' ? message.length : message.byteLength;
    if (size > 256) ws.close(1009, 'message too big');
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // Already closed.
    }
  }

  /** Closes sockets past their maximum age, then re-arms for the next one. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let next = Infinity;
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as SocketAttachment | null;
      if (!a || a.expiresAt <= now) ws.close(CLOSE_REAUTH, 'reauthenticate');
      else next = Math.min(next, a.expiresAt);
    }
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleSweep(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private async purgeExpiredTickets(): Promise<void> {
    const now = Date.now();
    const entries = await this.ctx.storage.list<Ticket>({ prefix: 'ticket:', limit: 100 });
    const expired = [...entries].filter(([, t]) => t.expiresAt < now).map(([k]) => k);
    if (expired.length > 0) await this.ctx.storage.delete(expired);
  }
}
