// Operator views of other users' access (sessions, social identities, API keys) and the cross-user
// dead-letter list. Each is a call to the public API with the operator's token; the API's
// permission checks and ceilings decide, the page shows their refusal.
import { api } from './api.js';
import { badge, explain, field, fmt, h, notificationsTable, pager, table } from './ui.js';

/**
 * The sessions, identities and API keys sections of a user's detail page (users:read; ending them takes
 * users:write and is refused by the API beyond the operator's own permissions).
 * @param {{ id: string, email: string, deletedAt?: string | null }} user
 * @param {{ can: (perm: string) => boolean, act: (label: string, fn: () => Promise<unknown>) => Promise<unknown>, self: boolean }} ctx
 */
export async function userAccess(user, { can, act, self }) {
  const out = [];
  if (!can('users:read') || user.deletedAt) return out;
  out.push(h('h2', {}, 'Sessions'));
  try {
    const { data } = await api('GET', `/users/${encodeURIComponent(user.id)}/sessions`);
    out.push(
      table('Live sessions of this user', [
        ['Started', (s) => fmt(s.createdAt)],
        ['Last used', (s) => fmt(s.lastUsedAt)],
        ['Expires', (s) => fmt(s.expiresAt)],
        ['Client', (s) => s.userAgent ?? ''],
      ], data, (s) => s.id),
    );
    if (can('users:write') && data.length > 0) {
      const warning = self ? ' This includes this console: you will be signed out.' : '';
      out.push(
        h('p', { class: 'actions' }, h('button', {
          type: 'button',
          class: 'danger',
          onclick: () => confirm(`End all ${data.length} session(s) of ${user.email}?${warning}`) && act('End all sessions', () => api('DELETE', `/users/${user.id}/sessions`)),
        }, 'End all sessions')),
      );
    }
  } catch (err) {
    out.push(h('p', {}, `Sessions unavailable: ${explain(err)}`));
  }
  out.push(h('h2', {}, 'Sign-in identities'));
  try {
    const { data } = await api('GET', `/users/${encodeURIComponent(user.id)}/identities`);
    out.push(
      table('Linked social sign-in identities', [
        ['Provider', (i) => badge(i.provider)],
        ['Provider email', (i) => i.email ?? '—'],
        ['Verified by provider', (i) => (i.emailVerified ? 'yes' : 'no')],
        ['Linked', (i) => fmt(i.createdAt)],
        ['Last sign-in', (i) => fmt(i.lastLoginAt)],
      ], data, (i) => i.id),
    );
  } catch (err) {
    out.push(h('p', {}, `Identities unavailable: ${explain(err)}`));
  }
  out.push(h('h2', {}, 'API keys'));
  try {
    const { data } = await api('GET', `/users/${encodeURIComponent(user.id)}/api-keys`);
    out.push(
      table('Live API keys of this user', [
        ['Name', (k) => k.name],
        ['Prefix', (k) => k.prefix],
        ['Permissions', (k) => k.permissions.join(', ')],
        ['Created', (k) => fmt(k.createdAt)],
        ['Expires', (k) => (k.expiresAt ? fmt(k.expiresAt) : 'never')],
        ['Last used', (k) => (k.lastUsedAt ? fmt(k.lastUsedAt) : '—')],
      ], data, (k) => k.id),
    );
  } catch (err) {
    out.push(h('p', {}, `API keys unavailable: ${explain(err)}`));
  }
  return out;
}

const CHANNELS = ['', 'email', 'push', 'sms_transactional', 'sms_promotional', 'in_app'];

/** Failed notifications across every user (GET /notifications/dead-letters, notifications:read). */
export async function deadLettersView(params, { go }) {
  const q = Object.fromEntries(params);
  const main = h('section', {}, h('h1', {}, 'Dead letters'));
  main.append(
    h('p', {}, 'Failed notifications across every user, newest first: retries exhausted (the queue’s dead-letter consumer marks them) or refused by the provider for good.'),
    h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filters',
        onsubmit: (e) => {
          e.preventDefault();
          const form = e.target;
          go('dead-letters', { channel: form.elements.channel.value, kind: form.elements.kind.value.trim() });
        },
      },
      field('Channel', h('select', { name: 'channel' }, CHANNELS.map((s) => h('option', { value: s, selected: q.channel === s }, s || 'any')))),
      field('Kind', h('input', { name: 'kind', value: q.kind ?? '' })),
      h('button', { type: 'submit' }, 'Show'),
    ),
  );
  const { data, nextCursor } = await api('GET', '/notifications/dead-letters', { query: { limit: 50, channel: q.channel, kind: q.kind, cursor: q.cursor } });
  const user = ['User', (n) => h('a', { href: `#/users/${n.userId}`, class: 'mono' }, n.userId)];
  main.append(notificationsTable('Dead letters, newest first', data, [user]), pager(nextCursor, (cursor) => go('dead-letters', { ...q, cursor })));
  return main;
}
