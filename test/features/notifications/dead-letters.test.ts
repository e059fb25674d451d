import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/lib/uuid';
import { call, json, registerUser } from '../../helpers/api';
import { errorCode, registerAdmin } from '../../helpers/users';

interface DeadLetter {
  id: string;
  userId: string;
  status: string;
  channel: string;
  kind: string;
  reason: string | null;
}
interface Page {
  data: DeadLetter[];
  nextCursor: string | null;
}

/** A notification row in the given state (test data only; the delivery path has its own tests). */
async function notification(userId: string, status: string, channel = 'email', kind = 'dead-letter-test') {
  const id = uuidv7();
  const now = Date.now();
  await env.APP_DB.prepare(
    `INSERT INTO notifications (public_id, created_at, updated_at, user_public_id, channel, category, kind, idempotency_key, status, title, attempts, reason, failed_at)
     VALUES (?1, ?2, ?2, ?3, ?4, 'transactional', ?5, ?6, ?7, 'Hello', 3, ?8, ?9)`,
  )
    .bind(id, now, userId, channel, kind, crypto.randomUUID(), status, status === 'failed' ? 'provider rejected' : null, status === 'failed' ? now : null)
    .run();
  return id;
}

const list = (token: string, query = '') => call(`/api/v1/notifications/dead-letters${query}`, { token });

describe('GET /notifications/dead-letters', () => {
  it('lists failed notifications across users with their user, newest first, and nothing else', async () => {
    const admin = await registerAdmin();
    const kind = `dl-${crypto.randomUUID().slice(0, 8)}`;
    const a = await registerUser();
    const b = await registerUser();
    const first = await notification(a.user.id, 'failed', 'email', kind);
    await notification(a.user.id, 'delivered', 'email', kind);
    await notification(b.user.id, 'queued', 'sms_transactional', kind);
    const second = await notification(b.user.id, 'failed', 'sms_transactional', kind);
    const res = await list(admin.accessToken, `?kind=${kind}`);
    expect(res.status).toBe(200);
    const page = await json<Page>(res);
    expect(page.data.map((d) => [d.id, d.userId, d.status])).toEqual([
      [second, b.user.id, 'failed'],
      [first, a.user.id, 'failed'],
    ]);
    expect(page.data[0]?.reason).toBe('provider rejected');
    const sms = await json<Page>(await list(admin.accessToken, `?kind=${kind}&channel=sms_transactional`));
    expect(sms.data.map((d) => d.id)).toEqual([second]);
  });

  it('pages with an opaque cursor, without repeats or gaps', async () => {
    const admin = await registerAdmin();
    const kind = `dl-${crypto.randomUUID().slice(0, 8)}`;
    const user = await registerUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await notification(user.user.id, 'failed', 'push', kind));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await json<Page>(await list(admin.accessToken, `?kind=${kind}&limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('refuses callers without notifications:read and anonymous ones, and a bad cursor or filter', async () => {
    const plain = await registerUser();
    const res = await list(plain.accessToken);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('FORBIDDEN');
    expect((await call('/api/v1/notifications/dead-letters')).status).toBe(401);
    const admin = await registerAdmin();
    expect((await list(admin.accessToken, '?cursor=bad!')).status).toBe(400);
    expect((await list(admin.accessToken, '?channel=fax')).status).toBe(400);
    expect((await list(admin.accessToken, '?status=failed')).status).toBe(400);
  });
});
