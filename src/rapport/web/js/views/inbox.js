// The inbox: conversations newest first, unread badges, filters, live refresh.

import { api } from '../api.js';
import { h, clear, avatar, icon, announce, shortTime, fullTime } from '../dom.js';
import { filesPreview } from './attachments.js';
import { SearchBox } from './search.js';

const FILTERS = [
  ['all', 'All'],
  ['unread', 'Unread'],
  ['archived', 'Archived'],
  ['inmail', 'InMail'],
];

export function otherParticipants(app, conversation) {
  // A sponsored thread's only participant is its recipient; it is shown as the advertiser's.
  if (conversation.kind === 'sponsored' && conversation.last_message?.sender) return [conversation.last_message.sender];
  const others = (conversation.participants || []).filter((p) => p.id !== app.me.id);
  if (others.length) return others;
  // Everyone else is gone: in a 1:1 thread the other member erased their account (their
  // messages stay, as "Deleted member"); a group chat is left with the viewer alone.
  return ONE_TO_ONE.has(conversation.kind) ? [DELETED_MEMBER] : [];
}

const ONE_TO_ONE = new Set(['direct', 'group_member', 'open_profile', 'inmail']);
const DELETED_MEMBER = Object.freeze({ id: null, handle: null, name: 'Deleted member', headline: null, avatar_url: null });

export function conversationTitle(app, conversation) {
  if (conversation.title) return conversation.title;
  const others = otherParticipants(app, conversation);
  if (!others.length) return 'Only you';
  return others.map((p) => p.name || p.handle || 'Deleted member').join(', ');
}

/** A member's headline, or '' (never "null", "undefined" or blanks). */
export function headlineOf(member) {
  const text = typeof member?.headline === 'string' ? member.headline.trim() : '';
  return text === 'null' || text === 'undefined' ? '' : text;
}

export class Inbox {
  constructor(app) {
    this.app = app;
    this.filter = 'all';
    this.activeId = null;
    this.conversations = [];
    this.nextCursor = null;
    this.reloadTimer = null;
    this.loading = false;

    this.list = h('ul', { class: 'conv-list', 'aria-label': 'Conversations', 'data-testid': 'conversation-list' });
    this.status = h('p', { class: 'inbox-status muted', role: 'status', 'aria-live': 'polite' });
    this.more = h('button', { type: 'button', class: 'btn btn-ghost btn-block', hidden: true, onclick: () => this.load(true) }, 'Load more');
    this.search = new SearchBox(app);
    this.filterButtons = FILTERS.map(([value, label]) => h('button', {
      type: 'button',
      class: 'chip',
      'aria-pressed': value === this.filter ? 'true' : 'false',
      dataset: { filter: value },
      onclick: () => this.setFilter(value),
    }, label));
    this.el = h('section', { class: 'inbox-pane', 'aria-labelledby': 'inbox-title' },
      h('div', { class: 'inbox-head' },
        h('h1', { id: 'inbox-title' }, 'Messaging'),
        h('button', {
          type: 'button', class: 'btn btn-secondary btn-small', onclick: () => app.compose(), 'aria-haspopup': 'dialog',
        }, icon('compose'), 'New message'),
      ),
      this.search.el,
      h('div', { class: 'filters', role: 'group', 'aria-label': 'Filter conversations' }, this.filterButtons),
      h('div', { class: 'conv-scroll' }, this.list, this.status, this.more),
      this.search.results,
    );
  }

  setFilter(value) {
    this.filter = value;
    for (const b of this.filterButtons) b.setAttribute('aria-pressed', b.dataset.filter === value ? 'true' : 'false');
    this.load();
  }

  setActive(id) {
    this.activeId = id;
    for (const li of this.list.children) {
      const a = li.querySelector('a');
      if (!a) continue;
      if (li.dataset.id === id) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    }
  }

  scheduleReload() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load(), 120);
  }

  async load(more = false) {
    const filter = this.filter;
    try {
      const res = await api.conversations(filter, more ? this.nextCursor : undefined);
      if (filter !== this.filter) return;
      const items = res.conversations || [];
      this.conversations = more ? [...this.conversations, ...items] : items;
      this.nextCursor = res.next_cursor || null;
      this.render();
    } catch (err) {
      this.status.textContent = err.message;
    }
  }

  onEvent(ev) {
    const m = ev.message;
    if (ev.type === 'message.new' && m && m.sender?.id !== this.app.me.id && this.app.thread?.id !== String(ev.conversation_id)) {
      announce(`New message from ${m.sender?.name || 'a member'}: ${(m.body || '').slice(0, 120)}`);
    }
    if (['message.new', 'message.edited', 'message.deleted', 'conversation.updated', 'message.read'].includes(ev.type)) {
      this.scheduleReload();
    }
  }

  render() {
    const convs = [...this.conversations].sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
    // A live reload rebuilds the list: the conversation that had the keyboard keeps it.
    const focused = this.list.contains(document.activeElement) ? document.activeElement.closest('[data-id]')?.dataset.id : null;
    clear(this.list);
    for (const c of convs) this.list.append(this.item(c));
    if (focused) this.list.querySelector(`[data-id="${CSS.escape(focused)}"] a`)?.focus();
    this.more.hidden = !this.nextCursor;
    const empty = {
      all: 'No conversations yet. Start one with “New message”.',
      unread: 'You are all caught up.',
      archived: 'No archived conversations.',
      inmail: 'No InMail.',
    }[this.filter];
    this.status.textContent = convs.length ? '' : empty;
    if (this.filter === 'all') this.app.setUnreadTotal(convs.filter((c) => c.unread_count > 0 && !c.archived).length);
    this.setActive(this.activeId);
    if (this.app.focusInbox) {
      this.app.focusInbox = false;
      (this.list.querySelector('a') || this.search.input).focus();
    }
  }

  item(c) {
    const app = this.app;
    const others = otherParticipants(app, c);
    const title = conversationTitle(app, c);
    const last = c.last_message;
    let preview = '';
    if (last) {
      const mine = last.sender?.id === app.me.id;
      const body = last.deleted ? 'Message deleted' : (last.body || filesPreview(last.attachments) || '');
      preview = mine ? `You: ${body}` : body;
    }
    const unread = c.unread_count > 0;
    const muted = c.muted ? h('span', { class: 'conv-muted', title: 'Muted' }, ' · Muted') : null;
    const label = `${title}${unread ? `, ${c.unread_count} unread` : ''}`;
    return h('li', { class: `conv-item${unread ? ' is-unread' : ''}`, dataset: { id: c.id, testid: 'conversation' } },
      h('a', { href: `#/c/${c.id}`, class: 'conv-link', 'aria-label': `${label}. ${preview}` },
        h('span', { class: 'conv-avatar' }, avatar(others[0], 'md')),
        h('span', { class: 'conv-main' },
          h('span', { class: 'conv-top' },
            h('span', { class: 'conv-name' }, title, muted),
            h('time', { class: 'conv-time', datetime: c.updated_at, title: fullTime(c.updated_at) }, shortTime(c.updated_at)),
          ),
          c.kind === 'inmail' ? h('span', { class: 'conv-subject' }, h('span', { class: 'tag' }, 'InMail'), ' ', c.subject || '') : null,
          c.kind !== 'inmail' && others.length === 1 && headlineOf(others[0])
            ? h('span', { class: 'conv-headline' }, headlineOf(others[0])) : null,
          h('span', { class: 'conv-bottom' },
            h('span', { class: 'conv-preview' }, preview),
            unread ? h('span', { class: 'badge', 'data-testid': 'unread-badge', 'aria-hidden': 'true' }, String(c.unread_count)) : null,
          ),
        ),
      ),
    );
  }
}
