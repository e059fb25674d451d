import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { notifications, notificationPreferences } from '../../src/db/schema/app';
import { recordedMessages } from '../../src/features/notifications/channels/recording';
import type { EmailMessage, EmailSender, SendResult } from '../../src/features/notifications/channels/types';
import { LEASE_MS, notificationBackoffSeconds } from '../../src/queues/notification-consumer';
import { registerUser } from '../helpers/api';
import { consume, db, emailInput, prepared, record } from '../features/notifications/notification-helpers';

/** An email sender that answers from a script and counts calls. */
function scriptedEmail(script: (m: EmailMessage, call: number) => SendResult): EmailSender & { calls: EmailMessage[] } {
  const calls: EmailMessage[] = [];
  return {
    provider: 'scripted',
    calls,
    async send(m) {
      calls.push(m);
      return script(m, calls.length);
    },
  };
}

describe('notification consumer', () => {
  it('delivers a queued email, acks it and records the outcome', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const result = await consume([m!]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    const row = await record(m!.id);
    expect(row).toMatchObject({ status: 'delivered', provider: 'recording', attempts: 1, reason: null });
    expect(row.deliveredAt).toBeInstanceOf(Date);
    // Resolved from the account, never stored in full.
    const sent = recordedMessages((r) => r.key === m!.id);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(user.email);
    expect(row.recipientMasked).toBeNull();
  });

  it('sends nothing twice when a delivered message is redelivered', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: true, provider: 'scripted' }));
    await consume([m!], { channels: { email } });
    const again = await consume([m!], { channels: { email }, attempts: 2 });
    expect(again.explicitAcks).toHaveLength(1);
    expect(email.calls).toHaveLength(1);
  });

  it('sends once when the same message arrives twice in one batch (concurrent delivery)', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: true, provider: 'scripted' }));
    const result = await consume([m!, m!], { channels: { email } });
    expect(email.calls).toHaveLength(1);
    // The loser sees a live lease and comes back later; by then the record is delivered.
    expect(result.explicitAcks.length + result.retryMessages.length).toBe(2);
    expect((await record(m!.id)).status).toBe('delivered');
  });

  it('retries a transient failure with exponential backoff from attempts', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: false, provider: 'scripted', retryable: true, reason: 'smtp transient: 451' }));
    const delays: number[] = [];
    for (const attempts of [1, 2, 3, 4]) {
      const r = await consume([m!], { channels: { email }, attempts, random: () => 0.5 });
      expect(r.explicitAcks).toHaveLength(0);
      delays.push(r.retryMessages[0]!.delaySeconds!);
    }
    expect(delays).toEqual([15, 30, 60, 120]);
    const row = await record(m!.id);
    expect(row).toMatchObject({ status: 'queued', attempts: 4, reason: 'smtp transient: 451', leaseUntil: null });
  });

  it('bounds the backoff and jitters it by at most 20 %', () => {
    expect(notificationBackoffSeconds(30, () => 0.5)).toBe(3600);
    expect(notificationBackoffSeconds(3, () => 0)).toBe(48);
    expect(notificationBackoffSeconds(3, () => 0.999)).toBeLessThanOrEqual(72);
  });

  it('honours a provider Retry-After longer than the backoff', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: false, provider: 'scripted', retryable: true, reason: 'rate limited (HTTP 429)', retryAfterSeconds: 600 }));
    const r = await consume([m!], { channels: { email }, random: () => 0.5 });
    expect(r.retryMessages[0]!.delaySeconds).toBe(600);
  });

  it('retries only the failing message of a batch and leaves the acked ones alone', async () => {
    const user = await registerUser();
    const messages = (await Promise.all([1, 2, 3].map(() => prepared(emailInput(user.user.id))))).flat();
    const bad = messages[1]!;
    const email = scriptedEmail((msg) => (msg.notificationId === bad.id ? { ok: false, provider: 'scripted', retryable: true, reason: 'boom' } : { ok: true, provider: 'scripted' }));
    const r = await consume(messages, { channels: { email } });
    expect(r.retryBatch.retry).toBe(false);
    expect(r.ackAll).toBe(false);
    expect(r.explicitAcks).toHaveLength(2);
    expect(r.retryMessages).toHaveLength(1);
    expect((await record(messages[0]!.id)).status).toBe('delivered');
    expect((await record(bad.id)).status).toBe('queued');
    expect((await record(messages[2]!.id)).status).toBe('delivered');
  });

  it('fails a permanent error at once, acked, with its reason', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: false, provider: 'scripted', retryable: false, reason: 'smtp rejected: 550 mailbox unavailable' }));
    const r = await consume([m!], { channels: { email } });
    expect(r.explicitAcks).toHaveLength(1);
    expect(await record(m!.id)).toMatchObject({ status: 'failed', reason: 'smtp rejected: 550 mailbox unavailable' });
  });

  it('retries an infrastructure error and releases the record for the next attempt', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email: EmailSender = { provider: 'x', send: () => Promise.reject(new Error('socket exploded')) };
    const r = await consume([m!], { channels: { email }, random: () => 0.5 });
    expect(r.retryMessages).toHaveLength(1);
    expect(await record(m!.id)).toMatchObject({ status: 'queued', reason: 'internal error' });
  });

  it('takes over a record whose lease expired (a consumer crashed mid-send)', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    await db().app.update(notifications).set({ status: 'sending', leaseUntil: new Date(Date.now() - 1000) }).where(eq(notifications.publicId, m!.id));
    await consume([m!]);
    expect((await record(m!.id)).status).toBe('delivered');
    // A live lease, on the other hand, is left alone.
    const [n] = await prepared(emailInput(user.user.id));
    await db().app.update(notifications).set({ status: 'sending', leaseUntil: new Date(Date.now() + LEASE_MS) }).where(eq(notifications.publicId, n!.id));
    const r = await consume([n!]);
    expect(r.retryMessages[0]!.delaySeconds).toBeGreaterThan(100);
    expect((await record(n!.id)).status).toBe('sending');
  });

  it('acks and drops a malformed message instead of retrying it forever', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const r = await consume([{ ...m!, channel: 'carrier-pigeon' } as never, { nonsense: true } as never]);
    expect(r.explicitAcks).toHaveLength(2);
    expect(r.retryMessages).toHaveLength(0);
  });

  it('refuses a message whose subject would inject a mail header', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    const email = scriptedEmail(() => ({ ok: true, provider: 'scripted' }));
    const r = await consume([{ ...m!, content: { title: 'Hi\r\nBcc: victim@example.com', body: 'x' } }], { channels: { email } });
    expect(r.explicitAcks).toHaveLength(1);
    expect(email.calls).toHaveLength(0);
  });

  it('suppresses a channel the user switched off, but always delivers security mail', async () => {
    const user = await registerUser();
    const now = new Date();
    await db().app.insert(notificationPreferences).values({ userPublicId: user.user.id, channel: 'email', enabled: false, createdAt: now, updatedAt: now });
    const [news] = await prepared(emailInput(user.user.id));
    const [reset] = await prepared(emailInput(user.user.id, { category: 'security', kind: 'auth.password_reset', content: { title: 'Reset your password', body: 'Use this link…' } }));
    await consume([news!, reset!]);
    expect(await record(news!.id)).toMatchObject({ status: 'suppressed', reason: 'preference_disabled' });
    expect(await record(reset!.id)).toMatchObject({ status: 'delivered' });
  });

  it('suppresses notifications to a deleted account', async () => {
    const user = await registerUser();
    const [m] = await prepared(emailInput(user.user.id));
    await env.AUTH_DB.prepare('UPDATE users SET deleted_at = ?1 WHERE public_id = ?2').bind(Date.now(), user.user.id).run();
    await consume([m!]);
    expect(await record(m!.id)).toMatchObject({ status: 'suppressed', reason: 'user_not_found' });
  });
});
