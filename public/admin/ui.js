// DOM helpers shared by the console's views: elements built with textContent only (the CSP
// enforces Trusted Types, so an HTML sink would throw).
import { ApiError } from './api.js';

/** Element builder: h('button', { class: 'x', onclick: fn }, 'text', child). Strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = true;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmt = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const badge = (text, kind) => h('span', { class: kind ? `badge ${kind}` : 'badge' }, text);

export function explain(err) {
  if (err instanceof ApiError) return `${err.message} (${err.code}${err.requestId ? `, request ${err.requestId}` : ''})`;
  return err instanceof Error ? err.message : String(err);
}

export function table(caption, columns, rows, rowKey) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)))),
      h(
        'tbody',
        {},
        rows.length === 0 ? h('tr', {}, h('td', { colspan: columns.length }, 'Nothing here.')) : rows.map((row) => h('tr', { 'data-key': rowKey ? rowKey(row) : null }, columns.map(([, cell, cls]) => h('td', { class: cls }, cell(row))))),
      ),
    ),
  );
}

export function field(label, input) {
  return h('label', {}, label, input);
}

export function pager(nextCursor, load) {
  // An empty fragment, not null: Element.append(null) would print "null".
  return nextCursor ? h('p', {}, h('button', { type: 'button', onclick: () => load(nextCursor) }, 'Next page')) : document.createDocumentFragment();
}

/** Notifications with their delivery status; `lead` columns go first (the dead-letter list adds the user). */
export function notificationsTable(caption, rows, lead = []) {
  return table(caption, [
    ...lead,
    ['Created', (n) => fmt(n.createdAt)],
    ['Channel', (n) => n.channel],
    ['Kind', (n) => n.kind],
    ['Status', (n) => badge(n.status, n.status === 'failed' ? 'bad' : n.status === 'delivered' ? 'good' : '')],
    ['Attempts', (n) => String(n.attempts)],
    ['Reason', (n) => n.reason ?? ''],
    ['Title', (n) => n.title ?? ''],
  ], rows, (n) => n.id);
}

