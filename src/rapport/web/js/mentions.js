// @mentions in the web client: the composer's autocomplete of participants, and mentions
// highlighted in message text. The server decides what is a mention (domain/mentions.py):
// `@handle` of a participant; this module only mirrors that rule for display.

import { h, avatar } from './dom.js';

const MENTION = /(^|[^\w@.+-])@([A-Za-z0-9][A-Za-z0-9_.-]*)/g;
const TYPING = /(?:^|[^\w@.+-])@([A-Za-z0-9_.-]*)$/;
const MAX_OPTIONS = 8;

let styled = false;
export function ensureGroupStyles() {
  if (styled) return;
  styled = true;
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/css/groups.css' }));
}

/** The `@word` being typed just before the caret: {query, start} or null. */
export function mentionQuery(text, caret) {
  const m = text.slice(0, caret).match(TYPING);
  return m ? { query: m[1], start: caret - m[1].length - 1 } : null;
}

/** Participants whose handle or name starts with `query` (case-insensitive), me excluded. */
export function candidates(people, query, meId) {
  const q = query.toLowerCase();
  return people
    .filter((p) => p.id !== meId && p.handle)
    .filter((p) => p.handle.toLowerCase().startsWith(q) || (p.name || '').toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))
    .slice(0, MAX_OPTIONS);
}

/**
 * An autocomplete on a textarea: typing `@` and letters lists matching participants
 * (`people()` is asked each time); Up/Down move, Enter or Tab insert `@handle `, Escape
 * closes. Its key handler runs before the composer's own (capture), so Enter picks a
 * name instead of sending while the list is open.
 */
export function attachMentionAutocomplete(input, people, meId) {
  ensureGroupStyles();
  const listId = `${input.id || 'composer'}-mentions`;
  const list = h('ul', { id: listId, class: 'mention-list', role: 'listbox', 'aria-label': 'Mention a participant', hidden: true });
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listId);
  input.setAttribute('aria-expanded', 'false');
  input.after(list);
  let options = [];
  let active = 0;
  let at = null;

  const close = () => {
    list.hidden = true;
    options = [];
    at = null;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };
  const paint = () => {
    list.replaceChildren(...options.map((p, i) => {
      const li = h('li', {
        id: `${listId}-${i}`, class: 'mention-option', role: 'option', 'aria-selected': i === active ? 'true' : 'false',
        dataset: { handle: p.handle },
      }, avatar(p, 'xs'), h('span', {}, p.name || p.handle), h('span', { class: 'muted' }, `@${p.handle}`));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); active = i; choose(); });
      return li;
    }));
    input.setAttribute('aria-activedescendant', `${listId}-${active}`);
  };
  const choose = () => {
    const person = options[active];
    if (!person || !at) return close();
    const caret = input.selectionStart;
    const text = `@${person.handle} `;
    input.value = input.value.slice(0, at.start) + text + input.value.slice(caret);
    const pos = at.start + text.length;
    input.setSelectionRange(pos, pos);
    close();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const update = () => {
    at = mentionQuery(input.value, input.selectionStart);
    options = at ? candidates(people() || [], at.query, meId) : [];
    if (!options.length) { close(); return; }
    active = Math.min(active, options.length - 1);
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    paint();
  };
  input.addEventListener('input', update);
  input.addEventListener('blur', () => close());
  input.addEventListener('keydown', (e) => {
    if (list.hidden || !options.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      active = (active + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      paint();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      choose();
    } else if (e.key === 'Escape') {
      close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);
  return { close };
}

/** Wrap the mentions of `mentions` (members) found in `root`'s text in <span class="mention">. */
export function highlightMentions(root, mentions) {
  if (!root || !mentions?.length) return root;
  ensureGroupStyles();
  const handles = new Set(mentions.map((m) => m.handle.toLowerCase()));
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if (!n.parentElement?.closest('a')) nodes.push(n);
  for (const node of nodes) {
    const text = node.textContent;
    const parts = [];
    let last = 0;
    for (const m of text.matchAll(MENTION)) {
      let word = m[2];
      if (!handles.has(word.toLowerCase())) word = word.replace(/[.-]+$/, '');
      if (!handles.has(word.toLowerCase())) continue;
      const start = m.index + m[1].length;
      if (start > last) parts.push(document.createTextNode(text.slice(last, start)));
      parts.push(h('span', { class: 'mention', dataset: { testid: 'mention' } }, `@${word}`));
      last = start + 1 + word.length;
    }
    if (!parts.length) continue;
    if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
    node.replaceWith(...parts);
  }
  return root;
}

/** A system line (someone added, removed, left, renamed) as one centred row of the thread. */
export function systemRow(m) {
  ensureGroupStyles();
  return h('li', { class: 'msg msg-system', dataset: { id: m.id, testid: 'system-line' }, tabindex: '-1' },
    h('p', {}, m.body));
}
