// Searching one's messages from the inbox: people, conversations (by participant name) and
// messages (with the server's highlighted snippet). Up/Down move through the results; Escape
// goes back to the box, and a second Escape clears it.

import { api } from '../api.js';
import { h, clear, avatar, shortTime, fullTime } from '../dom.js';
import { filesPreview } from './attachments.js';

const DEBOUNCE_MS = 220;

/**
 * The server's snippet is HTML-escaped text with <mark> around matches. It is parsed inert
 * (DOMParser runs no script and loads nothing) and rebuilt from text nodes and <mark>
 * elements only, so whatever else it might carry is dropped.
 */
export function snippetNodes(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const out = [];
  const walk = (node, inMark) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) out.push(inMark ? h('mark', {}, child.textContent) : document.createTextNode(child.textContent));
      else if (child.nodeType === Node.ELEMENT_NODE) walk(child, inMark || child.tagName === 'MARK');
    }
  };
  walk(doc.body, false);
  return out;
}

export class SearchBox {
  constructor(app) {
    this.app = app;
    this.timer = null;
    this.serial = 0;
    this.input = h('input', {
      type: 'search', class: 'input search-input', id: 'search-messages', 'aria-label': 'Search messages',
      placeholder: 'Search messages', autocomplete: 'off', spellcheck: 'false', 'aria-controls': 'search-results',
    });
    this.el = h('div', { class: 'inbox-search', role: 'search' }, this.input);
    this.status = h('p', { class: 'muted search-status', role: 'status', 'aria-live': 'polite' });
    this.list = h('div', { class: 'search-sections' });
    this.results = h('div', { id: 'search-results', class: 'search-results', hidden: true, 'aria-label': 'Search results' }, this.status, this.list);
    this.input.addEventListener('input', () => this.schedule());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown') { e.preventDefault(); this.links()[0]?.focus(); }
      if (e.key === 'Escape' && this.input.value) { e.preventDefault(); this.reset(); }
      if (e.key === 'Enter') { e.preventDefault(); this.run(); }
    });
    this.results.addEventListener('keydown', (e) => this.onKey(e));
  }

  links() { return [...this.results.querySelectorAll('.search-hit')]; }

  onKey(e) {
    const all = this.links();
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      if (to < 0) this.input.focus(); else all[Math.min(to, all.length - 1)].focus();
    }
    if (e.key === 'Escape') { e.preventDefault(); this.input.focus(); }
  }

  reset() {
    this.input.value = '';
    this.showing(false);
  }

  showing(on) {
    this.results.hidden = !on;
    this.results.closest('.inbox-pane')?.classList.toggle('is-searching', on);
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
  }

  async run() {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    if (!q) { this.showing(false); return; }
    const serial = ++this.serial;
    this.showing(true);
    this.status.textContent = 'Searching…';
    const [found, people] = await Promise.all([
      api.search(q, 30).catch((err) => ({ error: err })),
      api.searchMembers(q, 5).catch(() => ({ members: [] })),
    ]);
    if (serial !== this.serial) return;
    clear(this.list);
    if (found.error) { this.status.textContent = found.error.message; return; }
    const results = found.results || [];
    const conversations = results.filter((r) => r.match === 'participant');
    const messages = results.filter((r) => r.match !== 'participant');
    const members = (people.members || []).filter((m) => m.id !== this.app.me.id);
    const total = conversations.length + messages.length + members.length;
    this.status.textContent = total ? `${total} result${total === 1 ? '' : 's'} for “${q}”` : `No results for “${q}”`;
    this.section('People', members.map((m) => this.personHit(m)));
    this.section('Conversations', conversations.map((r) => this.messageHit(r, true)));
    this.section('Messages', messages.map((r) => this.messageHit(r, false)));
  }

  section(title, items) {
    if (!items.length) return;
    const id = `search-${title.toLowerCase()}`;
    this.list.append(h('section', { class: 'search-section', 'aria-labelledby': id },
      h('h2', { id, class: 'search-heading' }, title),
      h('ul', { class: 'search-list' }, items.map((item) => h('li', {}, item)))));
  }

  personHit(m) {
    const a = h('a', { href: '#/inbox', class: 'search-hit', dataset: { testid: 'search-person' } },
      avatar(m, 'sm'),
      h('span', { class: 'search-main' }, h('span', { class: 'strong' }, m.name), h('span', { class: 'muted search-sub' }, `@${m.handle}`)));
    a.addEventListener('click', (e) => { e.preventDefault(); this.app.compose({ to: m.handle }); });
    return a;
  }

  messageHit(r, byName) {
    const m = r.message;
    const sender = m.sender?.id === this.app.me.id ? 'You' : (m.sender?.name || m.sender?.handle || 'Deleted member');
    const text = r.snippet ? snippetNodes(r.snippet) : [m.body || filesPreview(m.attachments)];
    return h('a', {
      href: `#/c/${encodeURIComponent(r.conversation_id)}?m=${encodeURIComponent(m.id)}`, class: 'search-hit',
      dataset: { testid: byName ? 'search-conversation' : 'search-message' },
    },
      avatar(m.sender, 'sm'),
      h('span', { class: 'search-main' },
        h('span', { class: 'search-top' }, h('span', { class: 'strong' }, sender),
          h('time', { class: 'muted', datetime: m.created_at, title: fullTime(m.created_at) }, shortTime(m.created_at))),
        h('span', { class: 'search-snippet' }, text)));
  }
}
