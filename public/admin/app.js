// app-ubr admin console: plain ES modules, no framework, no build, nothing from another origin.
// Every action is a call to the public API with the operator's token; the API decides what is
// allowed (its 403 is shown as is). The DOM is built with textContent only (no innerHTML):
// the page's CSP enforces Trusted Types, so an HTML sink would throw.
import { api, ApiError, currentUser, onSessionEnd, resume, signIn, signInWithPasskey, signOut } from './api.js';
import { deadLettersView, userAccess } from './operator-views.js';
import { badge, explain, field, fmt, h, notificationsTable, pager, table } from './ui.js';

const PERMISSIONS = ['users:read', 'users:write', 'users:delete', 'roles:read', 'roles:write', 'logs:read', 'notifications:read', 'notifications:write', 'config:write', 'webhooks:read', 'webhooks:write'];
const WEBHOOK_EVENTS = ['user.created', 'user.updated', 'user.deleted', 'user.restored', 'role.granted', 'role.revoked', 'role.created', 'role.updated', 'role.deleted', 'session.revoked', 'notification.failed'];
const SECTIONS = [
  ['users', 'Users', 'users:read'],
  ['roles', 'Roles', 'roles:read'],
  ['logs', 'Audit log', 'logs:read'],
  ['notifications', 'Notifications', 'notifications:read'],
  ['dead-letters', 'Dead letters', 'notifications:read'],
  ['webhooks', 'Webhooks', 'webhooks:read'],
  ['versions', 'Client versions', null],
  ['api-keys', 'API keys', null],
  ['sessions', 'My sessions', null],
];

const $ = (id) => document.getElementById(id);
/** @type {Set<string> | null} the operator's permissions, when GET /roles could tell them */
let permissions = null;
let cleanup = [];

const can = (perm) => !perm || permissions === null || permissions.has(perm);
function say(message, isError = false) {
  const status = $('status');
  status.replaceChildren(h('span', { class: isError ? 'error' : '', role: isError ? 'alert' : null }, message));
}

/** Runs an API action, reports its outcome in the status region, re-renders on success. */
async function act(label, fn, { rerender = true } = {}) {
  try {
    const result = await fn();
    say(`${label}: done`);
    if (rerender) await route();
    return result;
  } catch (err) {
    say(`${label} failed: ${explain(err)}`, true);
    return undefined;
  }
}

function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') {
      if (!el.dataset.multi) out[el.name] = el.checked;
      else {
        out[el.name] ??= [];
        if (el.checked) out[el.name].push(el.value);
      }
    } else out[el.name] = el.value.trim();
  }
  return out;
}

function toIso(local) {
  return local ? new Date(local).toISOString() : undefined;
}

function permissionBoxes(name, selected, legend) {
  return h(
    'fieldset',
    {},
    h('legend', {}, legend),
    PERMISSIONS.map((p) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: p, 'data-multi': '1', checked: selected.includes(p), disabled: permissions !== null && !permissions.has(p) }), p)),
  );
}

// ------------------------------------------------------------------ sign-in

function renderSignIn(message) {
  $('nav').hidden = true;
  $('who').replaceChildren();
  let pending = null;
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { name: 'mfaCode', autocomplete: 'one-time-code', pattern: '[0-9A-Za-z\\- ]{6,20}' });
  const mfa = h('div', { hidden: true }, field('Two-factor code (or a recovery code)', code));
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        try {
          const creds = pending ?? { email: email.value.trim(), password: password.value };
          await signIn(creds.email, creds.password, pending ? code.value.trim() : undefined);
          password.value = '';
          pending = null;
          await afterSignIn();
        } catch (err) {
          if (err instanceof ApiError && err.code === 'MFA_REQUIRED') {
            pending = { email: email.value.trim(), password: password.value };
            password.value = '';
            email.disabled = true;
            password.disabled = true;
            password.required = false;
            mfa.hidden = false;
            code.required = true;
            code.focus();
            error.textContent = 'Enter the code from your authenticator app.';
          } else error.textContent = explain(err);
        }
      },
    },
    field('Email', email),
    field('Password', password),
    mfa,
    error,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  const passkey = h('button', {
    type: 'button',
    id: 'passkey-signin',
    onclick: async () => {
      error.textContent = '';
      try {
        await signInWithPasskey();
        await afterSignIn();
      } catch (err) {
        error.textContent = explain(err);
      }
    },
  }, 'Sign in with a passkey');
  $('main').replaceChildren(h('section', { class: 'signin card', 'aria-labelledby': 'signin-title' }, h('h1', { id: 'signin-title' }, 'Sign in'), form, window.PublicKeyCredential ? h('p', {}, passkey) : null));
  email.focus();
}

async function afterSignIn() {
  const user = currentUser();
  permissions = null;
  try {
    const { data: roles } = await api('GET', '/roles');
    permissions = new Set(roles.filter((r) => user.roles.includes(r.name)).flatMap((r) => r.permissions));
  } catch {
    // without roles:read the page cannot know; the API still refuses what is not allowed
  }
  $('who').replaceChildren(h('span', {}, user.email), h('button', { type: 'button', onclick: () => signOut() }, 'Sign out'));
  const items = SECTIONS.filter(([, , perm]) => can(perm));
  $('nav').replaceChildren(h('ul', {}, items.map(([id, title]) => h('li', {}, h('a', { href: `#/${id}`, 'data-section': id }, title)))));
  $('nav').hidden = false;
  if (!location.hash || location.hash === '#/') location.hash = `#/${items[0]?.[0] ?? 'sessions'}`;
  else await route();
}

// ------------------------------------------------------------------ users

async function usersView(params) {
  const q = Object.fromEntries(params);
  const main = h('section', {}, h('h1', {}, 'Users'));
  const search = h(
    'form',
    { class: 'inline', role: 'search', onsubmit: (e) => (e.preventDefault(), go('users', { q: formValues(e.target).q })) },
    field('Search (name, email)', h('input', { type: 'search', name: 'q', value: q.q ?? '' })),
    h('button', { type: 'submit' }, 'Search'),
  );
  const filters = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filters',
      onsubmit: (e) => {
        e.preventDefault();
        const v = formValues(e.target);
        go('users', { email: v.email, role: v.role, createdFrom: v.createdFrom, createdTo: v.createdTo, includeDeleted: v.includeDeleted ? 'true' : '' });
      },
    },
    field('Email contains', h('input', { name: 'email', value: q.email ?? '' })),
    field('Role', h('input', { name: 'role', value: q.role ?? '' })),
    field('Created from', h('input', { type: 'date', name: 'createdFrom', value: q.createdFrom ?? '' })),
    field('Created to', h('input', { type: 'date', name: 'createdTo', value: q.createdTo ?? '' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'includeDeleted', checked: q.includeDeleted === 'true' }), 'Include deleted'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  main.append(search, filters);
  const results = h('div', {});
  main.append(results);

  if (q.q) {
    const { data, nextCursor } = await api('GET', '/search', { query: { q: q.q, type: 'users', limit: 25, cursor: q.cursor } });
    results.append(
      table(`Search results for “${q.q}”`, [
        ['User', (r) => h('a', { href: `#/users/${r.id}` }, r.title || r.id)],
        ['Details', (r) => r.subtitle],
      ], data, (r) => r.id),
      pager(nextCursor, (cursor) => go('users', { ...q, cursor })),
    );
    return main;
  }
  const toDay = (d, end) => (d ? new Date(`${d}T${end ? '23:59:59.999' : '00:00:00'}Z`).toISOString() : undefined);
  const { data, nextCursor } = await api('GET', '/users', { query: { limit: 25, cursor: q.cursor, email: q.email, role: q.role, createdFrom: toDay(q.createdFrom), createdTo: toDay(q.createdTo, true), includeDeleted: q.includeDeleted } });
  results.append(
    table('Users, newest first', [
      ['Email', (u) => h('a', { href: `#/users/${u.id}` }, u.email)],
      ['Name', (u) => u.fullName ?? ''],
      ['Roles', (u) => u.roles.map((r) => badge(r))],
      ['Created', (u) => fmt(u.createdAt)],
      ['State', (u) => (u.deletedAt ? badge('deleted', 'bad') : u.emailVerified ? badge('verified', 'good') : badge('unverified'))],
    ], data, (u) => u.id),
    pager(nextCursor, (cursor) => go('users', { ...q, cursor })),
  );
  return main;
}

async function userView(id) {
  const user = await api('GET', `/users/${encodeURIComponent(id)}`, { query: { includeDeleted: 'true' } });
  const main = h('section', {}, h('p', {}, h('a', { href: '#/users' }, '← Users')), h('h1', {}, user.email));
  const self = user.id === currentUser()?.id;
  main.append(
    h(
      'div',
      { class: 'card' },
      h('dl', { class: 'props' }, [['Id', h('span', { class: 'mono' }, user.id)], ['Name', user.fullName ?? '—'], ['Email verified', user.emailVerified ? 'yes' : 'no'], ['Created', fmt(user.createdAt)], ['Updated', fmt(user.updatedAt)], ['Deleted', user.deletedAt ? fmt(user.deletedAt) : '—']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    ),
  );
  const actions = h('div', { class: 'actions' });
  if (user.deletedAt) {
    if (can('users:delete')) actions.append(h('button', { type: 'button', onclick: () => act('Restore', () => api('POST', `/users/${user.id}/restore`)) }, 'Restore user'));
  } else if (can('users:delete') && !self) {
    actions.append(h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Soft-delete ${user.email}? Their sessions end at once; they can be restored.`) && act('Soft delete', () => api('DELETE', `/users/${user.id}`)) }, 'Soft delete (ends sessions)'));
  }
  main.append(actions);

  main.append(h('h2', {}, 'Roles'));
  main.append(h('ul', {}, user.roles.map((name) => h('li', {}, badge(name), ' '))));
  if (can('roles:write') && !user.deletedAt) {
    try {
      const { data: roles } = await api('GET', '/roles');
      const byName = new Map(roles.map((r) => [r.name, r]));
      const list = main.lastChild;
      list.replaceChildren(
        ...user.roles.map((name) =>
          h('li', {}, badge(name), ' ', byName.get(name) ? h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke role ${name}`, onclick: () => act(`Revoke ${name}`, () => api('DELETE', `/users/${user.id}/roles/${byName.get(name).id}`)) }, 'Revoke') : null),
        ),
      );
      const grantable = roles.filter((r) => !user.roles.includes(r.name));
      if (grantable.length > 0) {
        const select = h('select', { name: 'roleId' }, grantable.map((r) => h('option', { value: r.id }, r.name)));
        main.append(h('form', { class: 'inline', onsubmit: (e) => (e.preventDefault(), act('Grant role', () => api('PUT', `/users/${user.id}/roles/${select.value}`))) }, field('Grant a role', select), h('button', { type: 'submit' }, 'Grant')));
      }
    } catch (err) {
      main.append(h('p', {}, `Roles unavailable: ${explain(err)}`));
    }
  }

  if (can('notifications:read')) {
    main.append(h('h2', {}, 'Notifications'));
    try {
      const { data } = await api('GET', `/notifications/users/${user.id}`, { query: { limit: 20 } });
      main.append(notificationsTable('Latest notifications', data));
    } catch (err) {
      main.append(h('p', {}, `Notifications unavailable: ${explain(err)}`));
    }
  }
  if (can('logs:read')) {
    main.append(h('h2', {}, 'Recent audit entries about this user'));
    try {
      const { data } = await api('GET', '/logs', { query: { targetId: user.id, limit: 10 } });
      main.append(logsTable('Audit entries with this user as target', data));
    } catch (err) {
      main.append(h('p', {}, `Audit log unavailable: ${explain(err)}`));
    }
  }
  main.append(...(await userAccess(user, { can, act, self })));
  return main;
}

// ------------------------------------------------------------------ roles

function roleForm(role, onDone) {
  return h(
    'form',
    {
      class: 'card',
      'aria-label': role ? `Edit role ${role.name}` : 'New role',
      onsubmit: (e) => {
        e.preventDefault();
        const v = formValues(e.target);
        const body = { name: v.name, description: v.description, permissions: v.permissions ?? [] };
        act(role ? `Save role ${v.name}` : `Create role ${v.name}`, () => (role ? api('PUT', `/roles/${role.id}`, { body }) : api('POST', '/roles', { body }))).then(onDone);
      },
    },
    h('h2', {}, role ? `Edit ${role.name}` : 'New role'),
    h('div', { class: 'filters' }, field('Name', h('input', { name: 'name', required: true, value: role?.name ?? '' })), field('Description', h('input', { name: 'description', value: role?.description ?? '' }))),
    permissionBoxes('permissions', role?.permissions ?? [], 'Permissions (only those you hold can be given)'),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, role ? 'Save' : 'Create')),
  );
}

async function rolesView(params) {
  const { data } = await api('GET', '/roles');
  const editing = data.find((r) => r.id === params.get('edit'));
  const main = h('section', {}, h('h1', {}, 'Roles and permissions'));
  main.append(
    table('Roles', [
      ['Name', (r) => [r.name, r.builtIn ? badge('built-in') : null]],
      ['Description', (r) => r.description ?? ''],
      ['Permissions', (r) => r.permissions.map((p) => badge(p))],
      [
        'Actions',
        (r) =>
          can('roles:write') && !r.builtIn
            ? h('div', { class: 'actions' }, h('a', { href: `#/roles?edit=${r.id}` }, `Edit ${r.name}`), h('button', { type: 'button', class: 'danger', 'aria-label': `Delete role ${r.name}`, onclick: () => confirm(`Delete role ${r.name}?`) && act(`Delete ${r.name}`, () => api('DELETE', `/roles/${r.id}`)) }, 'Delete'))
            : '',
      ],
    ], data, (r) => r.id),
  );
  if (can('roles:write')) main.append(roleForm(editing, () => editing && go('roles', {})));
  return main;
}

// ------------------------------------------------------------------ audit log

function logsTable(caption, rows) {
  return table(caption, [
    ['When', (l) => fmt(l.occurredAt)],
    ['Action', (l) => h('span', { class: 'mono' }, l.action)],
    ['Outcome', (l) => badge(l.outcome, l.outcome === 'success' ? 'good' : 'bad')],
    ['Level', (l) => l.level],
    ['Actor', (l) => (l.actorId ? h('a', { href: `#/users/${l.actorId}`, class: 'mono' }, l.actorId) : '—')],
    ['Target', (l) => h('span', { class: 'mono' }, l.targetId ?? '—')],
    ['Details', (l) => h('span', { class: 'mono' }, l.details ? JSON.stringify(l.details) : '')],
  ], rows, (l) => l.id);
}

async function logsView(params) {
  const q = Object.fromEntries(params);
  const query = { limit: 50, cursor: q.cursor, level: q.level, action: q.action, actorId: q.actorId, targetId: q.targetId, outcome: q.outcome, from: q.from, to: q.to };
  const main = h('section', {}, h('h1', {}, 'Audit log'));
  const select = (name, values) => h('select', { name }, h('option', { value: '' }, 'any'), values.map((v) => h('option', { value: v, selected: q[name] === v }, v)));
  main.append(
    h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filters',
        onsubmit: (e) => {
          e.preventDefault();
          const v = formValues(e.target);
          go('logs', { ...v, from: toIso(v.from), to: toIso(v.to) });
        },
      },
      field('Action', h('input', { name: 'action', value: q.action ?? '', placeholder: 'user.delete' })),
      field('Level', select('level', ['info', 'warn', 'error'])),
      field('Outcome', select('outcome', ['success', 'failure'])),
      field('Actor id', h('input', { name: 'actorId', value: q.actorId ?? '' })),
      field('Target id', h('input', { name: 'targetId', value: q.targetId ?? '' })),
      field('From', h('input', { type: 'datetime-local', name: 'from' })),
      field('To', h('input', { type: 'datetime-local', name: 'to' })),
      h('button', { type: 'submit' }, 'Filter'),
    ),
  );
  const { data, nextCursor } = await api('GET', '/logs', { query });
  let wrap = logsTable('Audit entries, newest first', data);
  const tail = h('input', { type: 'checkbox', id: 'tail' });
  const seen = new Set(data.map((l) => l.id));
  let rows = data;
  let timer = null;
  tail.addEventListener('change', () => {
    clearInterval(timer);
    if (!tail.checked) return;
    const poll = async () => {
      try {
        const { data: fresh } = await api('GET', '/logs', { query: { ...query, cursor: undefined } });
        const added = fresh.filter((l) => !seen.has(l.id));
        if (added.length === 0) return;
        for (const l of added) seen.add(l.id);
        rows = [...added, ...rows].slice(0, 200);
        const next = logsTable('Audit entries, newest first (live)', rows);
        wrap.replaceWith(next);
        wrap = next;
        say(`${added.length} new audit ${added.length === 1 ? 'entry' : 'entries'}`);
      } catch (err) {
        say(`Live tail: ${explain(err)}`, true);
      }
    };
    timer = setInterval(poll, 3000);
    void poll();
  });
  cleanup.push(() => clearInterval(timer));
  main.append(h('p', {}, h('label', { class: 'check', for: 'tail' }, tail, 'Live tail (polls every 3 s)')), wrap, pager(nextCursor, (cursor) => go('logs', { ...q, cursor })));
  return main;
}

// ------------------------------------------------------------------ notifications

async function notificationsView(params) {
  const q = Object.fromEntries(params);
  const main = h('section', {}, h('h1', {}, 'Notifications'));
  main.append(
    h('p', {}, 'A user’s notifications with their delivery status. “failed” are the dead letters: retries exhausted (the queue’s dead-letter consumer marks them) or refused by the provider.'),
    h(
      'form',
      { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => (e.preventDefault(), go('notifications', formValues(e.target))) },
      field('User id', h('input', { name: 'user', required: true, value: q.user ?? '' })),
      field('Status', h('select', { name: 'status' }, ['', 'queued', 'sending', 'delivered', 'failed', 'suppressed'].map((s) => h('option', { value: s, selected: q.status === s }, s || 'any')))),
      field('Channel', h('select', { name: 'channel' }, ['', 'email', 'push', 'sms_transactional', 'sms_promotional', 'in_app'].map((s) => h('option', { value: s, selected: q.channel === s }, s || 'any')))),
      h('button', { type: 'submit' }, 'Show'),
    ),
  );
  if (q.user) {
    const { data, nextCursor } = await api('GET', `/notifications/users/${encodeURIComponent(q.user)}`, { query: { limit: 50, status: q.status, channel: q.channel, cursor: q.cursor } });
    main.append(notificationsTable(q.status === 'failed' ? 'Dead letters' : 'Notifications, newest first', data), pager(nextCursor, (cursor) => go('notifications', { ...q, cursor })));
  }
  return main;
}

// ------------------------------------------------------------------ webhooks

async function webhooksView(params) {
  const { data } = await api('GET', '/webhooks/endpoints');
  const main = h('section', {}, h('h1', {}, 'Webhooks'));
  const writable = can('webhooks:write');
  main.append(
    table('Endpoints', [
      ['URL', (w) => h('a', { href: `#/webhooks?endpoint=${w.id}`, class: 'mono' }, w.url)],
      ['Events', (w) => w.eventTypes.map((e) => badge(e))],
      ['Status', (w) => [badge(w.status, w.status === 'active' ? 'good' : 'bad'), w.failingSince ? ` failing since ${fmt(w.failingSince)}` : '']],
      [
        'Actions',
        (w) =>
          writable
            ? h(
                'div',
                { class: 'actions' },
                h('button', { type: 'button', onclick: () => act(w.status === 'active' ? 'Pause' : 'Resume', () => api('PATCH', `/webhooks/endpoints/${w.id}`, { body: { status: w.status === 'active' ? 'paused' : 'active' } })) }, w.status === 'active' ? 'Pause' : 'Resume'),
                h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Delete the endpoint ${w.url}?`) && act('Delete endpoint', () => api('DELETE', `/webhooks/endpoints/${w.id}`)) }, 'Delete'),
              )
            : '',
      ],
    ], data, (w) => w.id),
  );
  const endpoint = data.find((w) => w.id === params.get('endpoint'));
  if (endpoint) {
    const { data: deliveries } = await api('GET', `/webhooks/endpoints/${endpoint.id}/deliveries`, { query: { limit: 25 } });
    main.append(
      table(`Deliveries to ${endpoint.url}`, [
        ['Created', (d) => fmt(d.createdAt)],
        ['Event', (d) => d.eventType],
        ['Status', (d) => badge(d.status, d.status === 'delivered' ? 'good' : d.status === 'failed' ? 'bad' : '')],
        ['Attempts', (d) => String(d.attempts)],
        ['Last response', (d) => (d.attemptLog?.[0] ? `${d.attemptLog[0].responseStatus ?? d.attemptLog[0].error ?? ''}` : '')],
        ['', (d) => (writable && d.status !== 'pending' ? h('button', { type: 'button', onclick: () => act('Replay', () => api('POST', `/webhooks/deliveries/${d.id}/replay`)) }, 'Replay') : '')],
      ], deliveries, (d) => d.id),
    );
  }
  if (writable) {
    const secret = h('div', { 'aria-live': 'polite' });
    main.append(
      h(
        'form',
        {
          class: 'card',
          'aria-label': 'New endpoint',
          onsubmit: async (e) => {
            e.preventDefault();
            const v = formValues(e.target);
            const created = await act('Create endpoint', () => api('POST', '/webhooks/endpoints', { body: { url: v.url, description: v.description || undefined, eventTypes: v.eventTypes ?? [] } }), { rerender: false });
            if (created) secret.replaceChildren(h('p', { class: 'secret' }, 'Signing secret, shown once: ', h('code', { class: 'mono' }, created.secret)));
          },
        },
        h('h2', {}, 'New endpoint'),
        h('div', { class: 'filters' }, field('HTTPS URL', h('input', { type: 'url', name: 'url', required: true })), field('Description', h('input', { name: 'description' }))),
        h('fieldset', {}, h('legend', {}, 'Events'), WEBHOOK_EVENTS.map((ev) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'eventTypes', value: ev, 'data-multi': '1' }), ev))),
        h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Create')),
        secret,
      ),
    );
  }
  return main;
}

// ------------------------------------------------------------------ client versions

async function versionsView() {
  const { data } = await api('GET', '/client-versions');
  const main = h('section', {}, h('h1', {}, 'Client versions'));
  const writable = can('config:write');
  main.append(
    table('Policy per platform', [
      ['Platform', (v) => v.platform],
      ['Minimum', (v) => v.minVersion],
      ['Latest', (v) => v.latestVersion],
      ['Update URL', (v) => v.updateUrl ?? ''],
      ['Updated', (v) => fmt(v.updatedAt)],
      ['', (v) => (writable ? h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Remove the ${v.platform} policy?`) && act('Remove policy', () => api('DELETE', `/client-versions/${v.platform}`)) }, 'Remove') : '')],
    ], data, (v) => v.platform),
  );
  if (writable) {
    main.append(
      h(
        'form',
        {
          class: 'card filters',
          'aria-label': 'Set a policy',
          onsubmit: (e) => {
            e.preventDefault();
            const v = formValues(e.target);
            act(`Set ${v.platform} policy`, () => api('PUT', `/client-versions/${encodeURIComponent(v.platform)}`, { body: { minVersion: v.minVersion, latestVersion: v.latestVersion, updateUrl: v.updateUrl || null } }));
          },
        },
        field('Platform', h('select', { name: 'platform' }, ['ios', 'android', 'web'].map((p) => h('option', { value: p }, p)))),
        field('Minimum version', h('input', { name: 'minVersion', required: true, placeholder: '1.0.0' })),
        field('Latest version', h('input', { name: 'latestVersion', required: true, placeholder: '1.2.0' })),
        field('Update URL', h('input', { type: 'url', name: 'updateUrl' })),
        h('button', { type: 'submit', class: 'primary' }, 'Save'),
      ),
    );
  }
  return main;
}

// ------------------------------------------------------------------ API keys

async function apiKeysView() {
  const { data } = await api('GET', '/api-keys');
  const main = h('section', {}, h('h1', {}, 'API keys'), h('p', {}, 'Your own keys: each carries a subset of your permissions and is checked against your current ones on every call.'));
  const shown = h('div', { 'aria-live': 'polite' });
  const reveal = (key) => shown.replaceChildren(h('p', { class: 'secret' }, 'New key, shown once (send it as X-API-Key): ', h('code', { class: 'mono' }, key.key)));
  main.append(
    shown,
    table('Keys', [
      ['Name', (k) => k.name],
      ['Prefix', (k) => h('span', { class: 'mono' }, k.prefix)],
      ['Permissions', (k) => k.permissions.map((p) => badge(p))],
      ['Expires', (k) => fmt(k.expiresAt)],
      ['Last used', (k) => fmt(k.lastUsedAt)],
      [
        '',
        (k) =>
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', onclick: async () => { const key = await act('Rotate key', () => api('POST', `/api-keys/${k.id}/rotate`), { rerender: false }); if (key) reveal(key); } }, 'Rotate'),
            h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Revoke ${k.name}?`) && act('Revoke key', () => api('DELETE', `/api-keys/${k.id}`)) }, 'Revoke'),
          ),
      ],
    ], data, (k) => k.id),
    h(
      'form',
      {
        class: 'card',
        'aria-label': 'New API key',
        onsubmit: async (e) => {
          e.preventDefault();
          const v = formValues(e.target);
          const key = await act('Create key', () => api('POST', '/api-keys', { body: { name: v.name, permissions: v.permissions ?? [], expiresInDays: Number(v.expiresInDays) } }), { rerender: false });
          if (key) reveal(key);
        },
      },
      h('h2', {}, 'New key'),
      h('div', { class: 'filters' }, field('Name', h('input', { name: 'name', required: true })), field('Expires in (days, 1–365)', h('input', { type: 'number', name: 'expiresInDays', min: '1', max: '365', value: '90', required: true }))),
      permissionBoxes('permissions', [], 'Permissions'),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Create')),
    ),
  );
  return main;
}

// ------------------------------------------------------------------ own sessions

async function sessionsView() {
  const { data } = await api('GET', '/auth/sessions');
  return h(
    'section',
    {},
    h('h1', {}, 'My sessions'),
    table('Your live sessions', [
      ['Started', (s) => fmt(s.createdAt)],
      ['Last used', (s) => fmt(s.lastUsedAt)],
      ['Expires', (s) => fmt(s.expiresAt)],
      ['Client', (s) => s.userAgent ?? ''],
      ['', (s) => (s.current ? badge('this console') : h('button', { type: 'button', class: 'danger', onclick: () => act('Revoke session', () => api('DELETE', `/auth/sessions/${s.id}`)) }, 'Revoke'))],
    ], data, (s) => s.id),
  );
}

// ------------------------------------------------------------------ router

const VIEWS = { 'dead-letters': (params) => deadLettersView(params, { go }), users: usersView, roles: rolesView, logs: logsView, notifications: notificationsView, webhooks: webhooksView, versions: versionsView, 'api-keys': apiKeysView, sessions: sessionsView };

function go(section, query) {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const hash = `#/${section}${params.size ? `?${params}` : ''}`;
  if (location.hash === hash) void route();
  else location.hash = hash;
}

async function route() {
  if (!currentUser()) return renderSignIn();
  for (const fn of cleanup.splice(0)) fn();
  const [path, search] = location.hash.slice(2).split('?');
  const [section, id] = path.split('/');
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = $('main');
  try {
    const view = section === 'users' && id ? await userView(decodeURIComponent(id)) : await (VIEWS[section] ?? usersView)(new URLSearchParams(search ?? ''));
    main.replaceChildren(view);
    document.title = `${view.querySelector('h1')?.textContent ?? 'Admin'} · app-ubr admin`;
  } catch (err) {
    if (!currentUser()) return renderSignIn('Your session ended; sign in again.');
    main.replaceChildren(h('section', {}, h('h1', {}, 'Not available'), h('p', { role: 'alert' }, explain(err))));
  }
}

onSessionEnd(() => {
  permissions = null;
  for (const fn of cleanup.splice(0)) fn();
  renderSignIn('Signed out.');
});
window.addEventListener('hashchange', () => {
  $('status').replaceChildren();
  void route().then(() => $('main').focus({ preventScroll: true }));
});
// A reload resumes the session of the console cookie (HttpOnly: this script never sees it).
resume()
  .then((user) => (user ? afterSignIn() : renderSignIn()))
  .catch(() => renderSignIn());
