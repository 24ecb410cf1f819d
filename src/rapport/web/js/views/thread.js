// One conversation: history with infinite scroll up, composer, receipts, typing, reads.
//
// A read is reported (POST /conversations/{id}/read) only while this thread is open, the
// document is visible and focused, and the message is actually on screen.

import { api, newClientId } from '../api.js';
import { h, clear, avatar, icon, announce, clockTime, fullTime, dayLabel, toast } from '../dom.js';
import { conversationTitle, otherParticipants, headlineOf } from './inbox.js';
import { renderBody, attachCounter } from './richtext.js';
import { renderAttachments, UploadTray, attachButton, acceptDroppedFiles } from './attachments.js';
import { renderReactions, openReactionPicker, applyReaction } from './reactions.js';
import { confirmDialog } from './dialogs.js';
import { conversationMenu } from './conversation-menu.js';
import { participantsButton } from './participants.js';
import { attachMentionAutocomplete, highlightMentions, systemRow } from '../mentions.js';
import { renderSponsored, sponsoredThread } from './sponsored.js';

const PAGE = 30;
const TYPING_SHOW_MS = 10000;
const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const EDIT_WINDOW_MS = 60 * 60 * 1000;
const BODY_MAX = 8000;
const FIND_PAGE = 200;
const FIND_PAGES = 25;

const num = (id) => Number(id);

export class Thread {
  constructor(app, id) {
    this.app = app;
    this.id = String(id);
    this.conversation = null;
    this.messages = new Map(); // id -> message
    this.rows = new Map(); // id -> element
    this.exhausted = false;
    this.loadingOlder = false;
    this.destroyed = false;
    this.visible = new Set();
    this.lastReported = 0;
    this.typers = new Map(); // member id -> {member, timer}
    this.typingSentAt = 0;
    this.typingIdle = null;
    this.amTyping = false;
    this.editing = null; // {id, draft} while one of my messages is being edited
    this.expanded = new Set(); // ids of long messages unfolded with "See more"
    this.activeRow = null; // id of the message row that is the list's one tab stop
    this.highlighted = null; // id of a message opened from search
    this.pendingReveal = null;
    this.ready = new Promise((resolve) => { this.markReady = resolve; }); // settles once load() is done

    this.titleEl = h('h2', { class: 'thread-title', id: `thread-title-${this.id}`, tabindex: '-1' }, 'Loading…');
    this.subEl = h('p', { class: 'thread-sub muted' });
    this.headAvatar = h('span', { class: 'thread-avatar' });
    this.startEl = h('div', { class: 'thread-intro', hidden: true });
    this.sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
    this.loadingEl = h('p', { class: 'muted thread-loading', hidden: true }, 'Loading earlier messages…');
    this.msgList = h('ol', { class: 'msg-list', 'data-testid': 'messages' });
    this.scroller = h('div', {
      // The log is re-rendered as a whole; new messages are announced one by one instead.
      class: 'msg-scroll', role: 'log', 'aria-live': 'off',
      'aria-labelledby': `thread-title-${this.id}`, tabindex: '0',
    }, this.sentinel, this.startEl, this.loadingEl, this.msgList);
    this.typingEl = h('div', { class: 'typing', 'data-testid': 'typing', role: 'status', 'aria-live': 'polite' });
    this.input = h('textarea', {
      id: `composer-${this.id}`, class: 'composer-input', rows: '1', placeholder: 'Write a message…',
      'aria-label': 'Write a message', maxlength: '8000',
    });
    this.sendBtn = h('button', { type: 'submit', class: 'btn btn-primary composer-send', disabled: true }, 'Send');
    this.hint = h('p', { class: 'composer-hint', id: `composer-hint-${this.id}` }, 'Enter to send · Shift+Enter for a new line');
    this.input.setAttribute('aria-describedby', this.hint.id);
    this.menu = conversationMenu(this);
    this.people = participantsButton(this);
    this.tray = new UploadTray({ onChange: () => this.updateSendState(), announce });
    const attach = attachButton((files) => this.tray.add(files));
    this.counter = attachCounter(this.input, BODY_MAX);
    this.inmailBar = h('div', { class: 'inmail-actions', hidden: true });
    this.composerNote = h('p', { class: 'composer-note muted', hidden: true });
    this.form = h('form', { class: 'composer' }, attach.button, attach.input, this.input, this.sendBtn);
    this.el = h('div', { class: 'thread' },
      h('header', { class: 'thread-head' },
        h('a', { href: '#/inbox', class: 'btn btn-ghost btn-icon back-link', 'aria-label': 'Back to conversations' }, icon('back')),
        this.headAvatar,
        h('div', { class: 'thread-heading' }, this.titleEl, this.subEl),
        h('div', { class: 'thread-actions' }, this.people.el, this.menu.el),
      ),
      this.scroller,
      this.typingEl,
      this.inmailBar,
      this.composerNote,
      this.tray.el,
      this.tray.problem,
      this.form,
      h('div', { class: 'composer-foot' }, this.hint, this.counter.el),
    );

    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.sendMessage(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.sendMessage(); }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      this.updateSendState();
      this.onTypingInput();
    });
    this.input.addEventListener('blur', () => this.stopTyping());
    attachMentionAutocomplete(this.input, () => this.conversation?.participants, app.me.id);
    acceptDroppedFiles(this.el, this.input, (files) => this.tray.add(files));
    // Images arrive after the text: a thread that was at its newest message stays there.
    this.pinned = true;
    this.scroller.addEventListener('scroll', () => { this.pinned = this.isNearBottom(); }, { passive: true });
    this.scroller.addEventListener('load', (e) => {
      if (e.target.tagName === 'IMG' && this.pinned && !this.highlighted) this.scrollToBottom();
    }, true);
    this.msgList.addEventListener('keydown', (e) => this.onListKey(e));
    this.msgList.addEventListener('focusin', (e) => {
      const row = e.target.closest?.('li[data-id]');
      if (row && row.dataset.id !== this.activeRow) this.setActiveRow(row.dataset.id);
    });

    // "On screen": at least half of the message, or (for a message taller than the pane)
    // at least half of the pane's height filled with it.
    this.readObserver = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = entry.target.dataset.id;
        const paneHeight = entry.rootBounds?.height || 0;
        const shown = entry.isIntersecting
          && (entry.intersectionRatio >= 0.5 || (paneHeight > 0 && entry.intersectionRect.height >= paneHeight / 2));
        if (shown) this.visible.add(id); else this.visible.delete(id);
      }
      this.maybeReportRead();
    }, { root: this.scroller, threshold: [0, 0.25, 0.5, 0.75, 1] });
    this.topObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.scroller, rootMargin: '200px 0px 0px 0px' });

    this.onVisibility = () => this.maybeReportRead();
    document.addEventListener('visibilitychange', this.onVisibility);
    window.addEventListener('focus', this.onVisibility);
  }

  destroy() {
    this.destroyed = true;
    this.stopTyping();
    this.readObserver.disconnect();
    this.topObserver.disconnect();
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('focus', this.onVisibility);
    for (const t of this.typers.values()) clearTimeout(t.timer);
    this.tray.clear();
  }

  updateSendState() {
    const hasText = !!this.input.value.trim();
    const files = this.tray.count > 0;
    this.sendBtn.disabled = this.tray.busy || this.tray.failed || !(hasText || (files && this.tray.ids.length));
  }

  // ---- loading ----------------------------------------------------------------------

  async load() {
    try {
      await this.loadFirstPage();
    } finally {
      this.markReady();
    }
  }

  async loadFirstPage() {
    try {
      const [{ conversation }, { messages }] = await Promise.all([
        api.conversation(this.id),
        api.messages(this.id, undefined, PAGE),
      ]);
      if (this.destroyed) return;
      this.conversation = conversation;
      for (const m of messages) this.messages.set(m.id, m);
      this.exhausted = messages.length < PAGE;
      this.renderHead();
      this.renderAll();
      this.scrollToBottom();
      this.startEl.hidden = !this.exhausted;
      // Start watching the top only once the first page is in place.
      requestAnimationFrame(() => { if (!this.destroyed) this.topObserver.observe(this.sentinel); });
      // Desktop: ready to type. Phone: the list pane just disappeared, so move focus to the thread.
      if (window.matchMedia('(min-width: 761px)').matches) this.input.focus({ preventScroll: true });
      else this.titleEl.focus({ preventScroll: true });
      if (this.pendingReveal) this.reveal(this.pendingReveal); // opened from a search result
    } catch (err) {
      if (this.destroyed) return;
      this.titleEl.textContent = 'Conversation unavailable';
      clear(this.msgList).append(h('li', { class: 'thread-error', role: 'alert' }, err.message));
      this.form.hidden = true;
    }
  }

  async loadOlder() {
    if (this.exhausted || this.loadingOlder || this.destroyed || !this.messages.size) return;
    this.loadingOlder = true;
    this.loadingEl.hidden = false;
    const oldest = Math.min(...[...this.messages.keys()].map(num));
    try {
      const { messages } = await api.messages(this.id, String(oldest), PAGE);
      if (this.destroyed) return;
      const before = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      for (const m of messages) this.messages.set(m.id, m);
      this.exhausted = messages.length < PAGE;
      this.renderAll();
      this.scroller.scrollTop = top + (this.scroller.scrollHeight - before);
      this.startEl.hidden = !this.exhausted;
      if (this.exhausted) this.renderInmailBar();
    } catch (err) {
      toast(err.message);
    } finally {
      this.loadingOlder = false;
      this.loadingEl.hidden = true;
    }
    // If the sentinel is still on screen (short pages), keep going.
    if (!this.exhausted && !this.destroyed && this.scroller.scrollTop < 200) setTimeout(() => this.loadOlder(), 50);
  }

  /** Open at one message (from search): page back until it is loaded, scroll to it, highlight it. */
  async reveal(messageId) {
    const id = String(messageId);
    if (!this.conversation) { this.pendingReveal = id; return; }
    this.pendingReveal = null;
    for (let i = 0; i < FIND_PAGES && !this.messages.has(id) && !this.exhausted; i += 1) {
      const oldest = Math.min(...[...this.messages.keys()].map(num));
      let messages;
      try { ({ messages } = await api.messages(this.id, String(oldest), FIND_PAGE)); } catch (err) { toast(err.message); return; }
      if (this.destroyed) return;
      for (const m of messages) this.messages.set(m.id, m);
      this.exhausted = messages.length < FIND_PAGE;
    }
    this.startEl.hidden = !this.exhausted;
    this.highlighted = this.messages.has(id) ? id : null;
    this.renderAll();
    const row = this.rows.get(id);
    if (!row) { toast('That message is no longer in this conversation.'); return; }
    this.setActiveRow(id);
    row.scrollIntoView({ block: 'center' });
    row.focus({ preventScroll: true });
  }

  async onReconnect() {
    // After a drop the WebSocket replays missed events; refresh receipts of loaded messages too.
    if (!this.conversation || this.destroyed) return;
    try {
      const { messages } = await api.messages(this.id, undefined, PAGE);
      if (this.destroyed) return;
      const nearBottom = this.isNearBottom();
      for (const m of messages) this.messages.set(m.id, m);
      this.renderAll();
      if (nearBottom) this.scrollToBottom();
    } catch { /* next event will fix it */ }
  }

  // ---- rendering --------------------------------------------------------------------

  renderHead() {
    const c = this.conversation;
    const others = otherParticipants(this.app, c);
    this.titleEl.textContent = conversationTitle(this.app, c);
    clear(this.headAvatar).append(avatar(others[0], 'md'));
    const bits = [];
    const headline = others.length === 1 ? headlineOf(others[0]) : '';
    if (c.kind === 'inmail') bits.push(`InMail${c.subject ? ` · ${c.subject}` : ''}`);
    else if (headline) bits.push(headline);
    else if (others.length > 1) bits.push(`${others.length + 1} participants`);
    if (c.muted) bits.push('Muted');
    this.subEl.textContent = bits.join(' · ');
    this.subEl.hidden = !bits.length;
    this.people.sync();
    // Element.append would write a null child as the text "null": leave it out instead.
    clear(this.startEl).append(...[
      avatar(others[0], 'lg'),
      h('p', { class: 'strong' }, conversationTitle(this.app, c)),
      headline ? h('p', { class: 'muted' }, headline) : null,
      h('p', { class: 'muted' }, c.kind === 'inmail' ? 'This InMail started the conversation.' : 'This is the start of your conversation.'),
    ].filter(Boolean));
    this.renderInmailBar();
    if (c.kind === 'sponsored') sponsoredThread(this);
  }

  renderInmailBar() {
    const c = this.conversation;
    const first = this.sorted()[0];
    const received = c.kind === 'inmail' && first && first.sender?.id !== this.app.me.id;
    const pending = received && (c.inmail_state === 'pending' || c.inmail_state === null || c.inmail_state === undefined);
    const onlyTheirs = [...this.messages.values()].every((m) => m.sender?.id !== this.app.me.id);
    clear(this.inmailBar);
    this.inmailBar.hidden = !(pending && onlyTheirs && this.exhausted);
    if (this.inmailBar.hidden) return;
    this.inmailBar.append(
      h('p', {}, 'InMail from someone outside your network. Reply to accept, or let them know you are not interested.'),
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => this.declineInmail() }, 'Not interested'),
    );
  }

  async declineInmail() {
    try {
      const { conversation } = await api.declineInmail(this.id);
      this.conversation = conversation;
      this.inmailBar.hidden = true;
      toast('You declined this InMail.');
      this.app.inbox?.scheduleReload();
    } catch (err) { toast(err.message); }
  }

  async markUnread() {
    try {
      await api.patchConversation(this.id, { unread: true });
      this.lastReported = Infinity; // opened threads would otherwise mark it read again at once
      this.app.inbox?.scheduleReload();
      this.app.navigate('#/inbox');
    } catch (err) { toast(err.message); }
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => num(a.id) - num(b.id));
  }

  renderAll() {
    // Rows are rebuilt: remember what had focus inside them (a tool button, the editor, the row) to restore it.
    const active = document.activeElement;
    const inList = active && this.msgList.contains(active);
    const focusKey = inList
      ? {
        id: active.closest('[data-id]')?.dataset.id,
        key: active.dataset?.focusKey || (active.matches('li[data-id]') ? 'row' : null),
        start: active.selectionStart,
        end: active.selectionEnd,
      }
      : null;
    const list = this.sorted();
    const keep = new Set(list.map((m) => m.id));
    for (const [id, row] of this.rows) if (!keep.has(id)) { this.readObserver.unobserve(row); row.remove(); this.rows.delete(id); }
    if (!keep.has(this.activeRow)) this.activeRow = null;
    clear(this.msgList);
    let prev = null;
    for (const m of list) {
      if (!prev || dayLabel(prev.created_at) !== dayLabel(m.created_at)) {
        this.msgList.append(h('li', { class: 'day-sep', role: 'presentation' }, h('span', {}, dayLabel(m.created_at))));
      }
      const old = this.rows.get(m.id);
      if (old) this.readObserver.unobserve(old);
      const row = this.renderRow(m, prev);
      this.rows.set(m.id, row);
      this.msgList.append(row);
      if (m.sender?.id !== this.app.me.id && !m.deleted) this.readObserver.observe(row);
      prev = m;
    }
    // One tab stop for the whole list: the active row (the newest unless the member moved).
    const last = list[list.length - 1];
    this.setActiveRow(this.activeRow || last?.id || null);
    this.renderStatus();
    if (focusKey?.key) {
      const row = this.rows.get(focusKey.id);
      const el = focusKey.key === 'row' ? row : row?.querySelector(`[data-focus-key="${focusKey.key}"]`);
      if (el) {
        el.focus({ preventScroll: true });
        if (typeof focusKey.start === 'number' && el.setSelectionRange) el.setSelectionRange(focusKey.start, focusKey.end);
      }
    }
  }

  /** Make one message row the list's tab stop (roving tabindex). */
  setActiveRow(id) {
    this.activeRow = id;
    for (const [rid, row] of this.rows) row.tabIndex = rid === id ? 0 : -1;
  }

  /** Up/Down (and Home/End) move through the messages; Left/Right through one message's tools. */
  onListKey(e) {
    if (e.target.closest('.edit-form, .reaction-picker')) return;
    const toolbar = e.target.closest('[role="toolbar"]');
    if (toolbar && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
      const tools = [...toolbar.querySelectorAll('button')];
      const i = tools.indexOf(e.target);
      const next = tools[(i + (e.key === 'ArrowRight' ? 1 : -1) + tools.length) % tools.length];
      for (const t of tools) t.tabIndex = t === next ? 0 : -1;
      next.focus();
      e.preventDefault();
      return;
    }
    const ids = [...this.rows.keys()].sort((a, b) => num(a) - num(b));
    const row = e.target.closest('li[data-id]');
    if (!row) return;
    const i = ids.indexOf(row.dataset.id);
    const to = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: ids.length - 1 }[e.key];
    if (to === undefined || to < 0 || to >= ids.length) return;
    e.preventDefault();
    this.setActiveRow(ids[to]);
    const target = this.rows.get(ids[to]);
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: 'nearest' });
    if (to === 0) this.loadOlder();
  }

  peopleByHandle() {
    const people = new Map();
    for (const p of this.conversation?.participants || []) if (p.handle) people.set(p.handle, p);
    return people;
  }

  renderRow(m, prev) {
    if (m.system) return systemRow(m);
    const mine = m.sender?.id === this.app.me.id;
    const grouped = prev && prev.sender?.id === m.sender?.id && !prev.deleted
      && new Date(m.created_at) - new Date(prev.created_at) < 5 * 60 * 1000
      && dayLabel(prev.created_at) === dayLabel(m.created_at);
    const body = m.deleted
      ? h('p', { class: 'msg-body msg-deleted' }, 'This message was deleted.')
      : m.body ? highlightMentions(renderBody(m.id, m.body, this.expanded), m.mentions) : null;
    const files = m.deleted ? null : renderAttachments(m.attachments);
    const editing = this.editing?.id === m.id && !m.deleted;
    const tools = !m.deleted && !m.pending && !editing ? this.renderTools(m, mine) : null;
    const senderName = mine ? 'You' : (m.sender?.name || m.sender?.handle || 'Deleted member');
    return h('li', {
      class: `msg${mine ? ' msg-mine' : ' msg-theirs'}${grouped ? ' msg-grouped' : ''}${m.pending ? ' msg-pending' : ''}${this.highlighted === m.id ? ' is-highlighted' : ''}`,
      dataset: { id: m.id, testid: 'message' },
      tabindex: '-1',
    },
      !mine ? h('span', { class: 'msg-avatar' }, grouped ? null : avatar(m.sender, 'sm')) : null,
      h('div', { class: 'msg-content' },
        grouped ? null : h('div', { class: 'msg-meta' },
          h('span', { class: 'msg-sender' }, senderName),
          h('time', { datetime: m.created_at, title: fullTime(m.created_at) }, clockTime(m.created_at)),
        ),
        editing ? this.renderEditor(m) : h('div', { class: 'bubble-row' },
          tools,
          h('div', { class: `bubble${body ? '' : ' bubble-files'}` },
            body, m.edited_at && !m.deleted ? h('span', { class: 'edited' }, ' (edited)') : null, files)),
        m.sponsored ? renderSponsored(m, this.id) : null,
        m.deleted ? null : renderReactions(m, this.app, this.peopleByHandle(), (emoji, on) => this.react(m, emoji, on)),
        mine ? h('div', { class: 'msg-status', dataset: { testid: 'receipt-slot' } }) : null,
      ),
    );
  }

  // ---- the tools of a message: react to any; edit (60 minutes) and delete my own ------
  // One tab stop per message: the toolbar's current button; Left/Right move inside it.

  renderTools(m, mine) {
    const editable = mine && Date.now() - new Date(m.created_at).getTime() < EDIT_WINDOW_MS;
    const react = h('button', {
      type: 'button', class: 'btn btn-ghost btn-icon btn-tiny', 'aria-label': 'React', title: 'React',
      'aria-haspopup': 'true', 'aria-expanded': 'false', dataset: { focusKey: 'react' },
    }, icon('smile'));
    react.addEventListener('click', () => openReactionPicker(react, this.messages.get(m.id) || m, this.app, (emoji, on) => this.react(m, emoji, on)));
    const buttons = [
      react,
      editable ? h('button', {
        type: 'button', class: 'btn btn-ghost btn-icon btn-tiny', 'aria-label': 'Edit message', title: 'Edit',
        dataset: { focusKey: 'edit' }, onclick: () => this.startEdit(m),
      }, icon('compose')) : null,
      mine ? h('button', {
        type: 'button', class: 'btn btn-ghost btn-icon btn-tiny', 'aria-label': 'Delete message', title: 'Delete',
        dataset: { focusKey: 'delete' }, onclick: () => this.deleteMessage(m),
      }, icon('trash')) : null,
    ].filter(Boolean);
    buttons.forEach((b, i) => { b.tabIndex = i === 0 ? 0 : -1; });
    return h('div', { class: 'msg-tools', role: 'toolbar', 'aria-label': 'Message actions' }, buttons);
  }

  async react(m, emoji, on) {
    const current = this.messages.get(m.id);
    if (!current) return;
    this.messages.set(m.id, applyReaction(current, { member: this.app.me.handle, emoji, on }));
    this.renderAll();
    try {
      await api.react(this.id, m.id, emoji, on);
    } catch (err) {
      const now = this.messages.get(m.id);
      if (now) this.messages.set(m.id, applyReaction(now, { member: this.app.me.handle, emoji, on: !on }));
      this.renderAll();
      toast(err.message);
    }
  }

  renderEditor(m) {
    const input = h('textarea', {
      class: 'input edit-input', rows: '2', maxlength: '8000', 'aria-label': 'Edit message', dataset: { focusKey: 'editor' },
    });
    input.value = this.editing.draft;
    input.addEventListener('input', () => { this.editing.draft = input.value; });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.cancelEdit(); }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.saveEdit(m); }
    });
    return h('form', { class: 'edit-form', onsubmit: (e) => { e.preventDefault(); this.saveEdit(m); } },
      input,
      h('div', { class: 'edit-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => this.cancelEdit() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Save')));
  }

  startEdit(m) {
    this.editing = { id: m.id, draft: m.body };
    this.renderAll();
    const input = this.rows.get(m.id)?.querySelector('.edit-input');
    if (input) {
      input.focus({ preventScroll: true });
      input.setSelectionRange(input.value.length, input.value.length);
      this.rows.get(m.id)?.scrollIntoView({ block: 'nearest' });
    }
  }

  cancelEdit() {
    const id = this.editing?.id;
    this.editing = null;
    this.renderAll();
    this.rows.get(id)?.querySelector('[data-focus-key="edit"]')?.focus({ preventScroll: true });
  }

  async saveEdit(m) {
    const body = this.editing?.draft.trim();
    if (!body) return;
    if (body === m.body) { this.cancelEdit(); return; }
    try {
      const { message } = await api.editMessage(this.id, m.id, body);
      this.editing = null;
      this.merge(message);
      this.renderAll();
      this.app.inbox?.scheduleReload();
    } catch (err) { toast(err.message); }
  }

  async deleteMessage(m) {
    const ok = await confirmDialog({
      title: 'Delete this message?',
      text: 'It is removed for everyone in the conversation, with its files. This cannot be undone.',
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteMessage(this.id, m.id);
      const current = this.messages.get(m.id);
      if (current) this.messages.set(m.id, { ...current, deleted: true, body: '' });
      this.renderAll();
      this.app.inbox?.scheduleReload();
      this.input.focus({ preventScroll: true });
    } catch (err) { toast(err.message); }
  }

  /** Store a newer copy of one of my messages without losing a receipt already shown. */
  merge(m) {
    const existing = this.messages.get(m.id);
    this.messages.set(m.id, existing && m.sender?.id === this.app.me.id
      ? { ...m, status: rank(existing.status) > rank(m.status) ? existing.status : m.status, read_by: existing.read_by?.length ? existing.read_by : m.read_by }
      : m);
  }

  // Under the newest of my messages: "Sent", "Delivered" or "Read <time>". The reader's
  // small avatar sits under the newest of my messages that the server says was read — only
  // what the server reports (its privacy rules decide); the client never infers a read.
  renderStatus() {
    for (const slot of this.msgList.querySelectorAll('.msg-status')) {
      clear(slot);
      slot.removeAttribute('data-testid');
      slot.removeAttribute('data-status');
    }
    const mine = this.sorted().filter((m) => m.sender?.id === this.app.me.id && !m.deleted);
    const last = mine[mine.length - 1];
    if (!last) return;
    const lastRead = [...mine].reverse().find((m) => m.status === 'read' && m.read_by?.length);
    const slot = this.rows.get(last.id)?.querySelector('.msg-status');
    if (slot) {
      const status = last.pending ? 'sending' : last.status || 'sent';
      slot.dataset.testid = 'receipt';
      slot.dataset.status = status;
      if (status === 'read' && last.read_by?.length) {
        const latest = last.read_by.reduce((x, y) => ((x.read_at || '') > (y.read_at || '') ? x : y));
        slot.append(h('time', { class: 'status-text', datetime: latest.read_at, title: fullTime(latest.read_at) }, `Read ${clockTime(latest.read_at)}`));
      } else {
        slot.append(icon('check'), h('span', { class: 'status-text' }, { sending: 'Sending…', sent: 'Sent', delivered: 'Delivered', read: 'Read' }[status] || 'Sent'));
        slot.firstChild.classList.add('status-icon');
      }
    }
    const readSlot = lastRead && this.rows.get(lastRead.id)?.querySelector('.msg-status');
    if (readSlot) {
      for (const r of lastRead.read_by) {
        const name = r.member?.name || r.member?.handle;
        const img = avatar(r.member, 'xs', `Read by ${name}`);
        img.classList.add('reader-avatar');
        img.dataset.testid = 'reader-avatar';
        img.title = `Read by ${name} · ${fullTime(r.read_at)}`;
        readSlot.append(img);
      }
    }
  }

  isNearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  // ---- reads ------------------------------------------------------------------------

  maybeReportRead() {
    if (this.destroyed || !this.conversation) return;
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    if (!this.el.isConnected || this.el.offsetParent === null) return; // thread not on screen (phone list view)
    let newest = 0;
    for (const id of this.visible) {
      const m = this.messages.get(id);
      if (m && m.sender?.id !== this.app.me.id && num(id) > newest) newest = num(id);
    }
    if (newest <= this.lastReported) return;
    this.lastReported = newest;
    api.read(this.id, String(newest)).then(() => this.app.inbox?.scheduleReload()).catch(() => {
      if (this.lastReported === newest) this.lastReported = 0;
    });
  }

  // ---- sending ----------------------------------------------------------------------

  async sendMessage() {
    const body = this.input.value.trim();
    if (this.destroyed || this.sending || this.tray.busy || this.tray.failed) return;
    const files = this.tray.items.filter((it) => it.state === 'done').map((it) => it.attachment);
    if (!body && !files.length) return;
    this.stopTyping();
    // A retry of a send that failed on the network reuses its client id: the server keeps one copy.
    const clientId = this.failedSend?.body === body && this.failedSend?.files === files.map((f) => f.id).join() ? this.failedSend.clientId : newClientId();
    const pending = {
      pending: true, conversation_id: this.id, sender: this.app.me, body,
      created_at: new Date().toISOString(), status: 'sent', read_by: [], attachments: files, client_id: clientId, reactions: [],
    };
    // Temp ids sort last: give them a big number.
    pending.id = String(Number.MAX_SAFE_INTEGER - this.messages.size);
    const placeholderId = pending.id;
    this.messages.set(placeholderId, pending);
    this.sending = true;
    this.renderAll();
    this.scrollToBottom();
    this.input.value = '';
    this.sendBtn.disabled = true;
    this.tray.el.hidden = true;
    this.autosize();
    try {
      const { message } = await api.sendWith(this.id, body, clientId, files.map((f) => f.id));
      this.messages.delete(placeholderId);
      if (!this.messages.has(message.id)) this.messages.set(message.id, message);
      this.composerNote.hidden = true;
      this.failedSend = null;
      this.tray.clear();
    } catch (err) {
      // Nothing typed is lost: the text and the files go back into the composer.
      this.messages.delete(placeholderId);
      if (!this.input.value) this.input.value = body;
      this.failedSend = { body, files: files.map((f) => f.id).join(), clientId };
      this.tray.el.hidden = !this.tray.count;
      this.composerNote.textContent = err.status === 0 ? 'Not sent: cannot reach the server. Your message is still here; press Send to try again.' : `Not sent: ${err.message}`;
      this.composerNote.hidden = false;
      this.composerNote.setAttribute('role', 'alert');
    } finally {
      this.sending = false;
    }
    if (this.destroyed) return;
    this.counter.update();
    this.autosize();
    this.updateSendState();
    this.renderAll();
    this.renderInmailBar();
    this.scrollToBottom();
    this.app.inbox?.scheduleReload();
  }

  // ---- typing -----------------------------------------------------------------------

  sendTyping(typing) {
    if (!this.app.live?.sendFrame({ type: 'typing', conversation_id: this.id, typing })) {
      api.typing(this.id, typing).catch(() => {});
    }
  }

  onTypingInput() {
    if (!this.app.receiptsOn() || !this.conversation) return;
    const now = Date.now();
    if (!this.input.value.trim()) { this.stopTyping(); return; }
    if (!this.amTyping || now - this.typingSentAt > TYPING_REFRESH_MS) {
      this.amTyping = true;
      this.typingSentAt = now;
      this.sendTyping(true);
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (!this.amTyping) return;
    this.amTyping = false;
    this.sendTyping(false);
  }

  setTyper(member, typing) {
    const old = this.typers.get(member.id);
    if (old) clearTimeout(old.timer);
    if (typing) {
      const timer = setTimeout(() => { this.typers.delete(member.id); this.renderTyping(); }, TYPING_SHOW_MS);
      this.typers.set(member.id, { member, timer });
    } else {
      this.typers.delete(member.id);
    }
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typers.values()].map((t) => t.member.name || t.member.handle);
    clear(this.typingEl);
    if (!names.length) return;
    const text = names.length === 1 ? `${names[0]} is typing` : `${names.join(', ')} are typing`;
    const first = [...this.typers.values()][0].member;
    this.typingEl.append(
      avatar(first, 'xs'),
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
      h('span', {}, `${text}…`),
    );
  }

  // ---- live events ------------------------------------------------------------------

  onEvent(ev) {
    if (this.destroyed || String(ev.conversation_id ?? ev.message?.conversation_id ?? '') !== this.id) return;
    const meId = this.app.me.id;
    switch (ev.type) {
      case 'message.edited': {
        const m = this.messages.get(String(ev.message_id ?? ev.message?.id));
        if (!m) return;
        this.messages.set(m.id, { ...m, body: ev.body ?? ev.message?.body ?? m.body, edited_at: ev.edited_at ?? ev.message?.edited_at ?? m.edited_at, mentions: ev.mentions ?? m.mentions });
        this.renderAll();
        break;
      }
      case 'message.new': {
        const m = ev.message;
        if (!m) return;
        if (m.sender?.id !== meId) {
          this.setTyper(m.sender, false);
          if (ev.type === 'message.new' && !this.messages.has(m.id)) {
            announce(`${m.sender?.name || 'New message'}: ${(m.body || '').slice(0, 200)}`);
          }
        }
        // Our own message from another device, or the echo of the one just sent.
        if (m.client_id) {
          for (const [id, x] of this.messages) if (x.pending && x.client_id === m.client_id) this.messages.delete(id);
        }
        const nearBottom = this.isNearBottom();
        this.merge(m);
        this.renderAll();
        if (nearBottom || m.sender?.id === meId) this.scrollToBottom();
        break;
      }
      case 'message.reaction': {
        const m = this.messages.get(String(ev.message_id));
        if (!m) return; // applying twice changes nothing: my own echo is harmless
        this.messages.set(m.id, applyReaction(m, ev));
        this.renderAll();
        break;
      }
      case 'message.deleted': {
        const id = ev.message_id ?? ev.message?.id;
        const m = this.messages.get(String(id));
        if (m) { this.messages.set(m.id, { ...m, deleted: true, body: '' }); this.renderAll(); }
        break;
      }
      case 'message.delivered': {
        const upto = num(ev.message_id);
        let changed = false;
        for (const m of this.messages.values()) {
          if (m.sender?.id === meId && num(m.id) <= upto && (m.status === 'sent' || !m.status)) { m.status = 'delivered'; changed = true; }
        }
        if (changed) this.renderStatus();
        break;
      }
      case 'message.read': {
        if (!ev.reader || ev.reader.id === meId) return;
        const upto = num(ev.message_id);
        for (const m of this.messages.values()) {
          if (m.sender?.id !== meId || num(m.id) > upto || m.pending) continue;
          m.status = 'read';
          const others = (m.read_by || []).filter((r) => r.member?.id !== ev.reader.id);
          m.read_by = [...others, { member: ev.reader, read_at: ev.read_at }];
        }
        this.renderStatus();
        break;
      }
      case 'typing': {
        if (!ev.member || ev.member.id === meId) return;
        this.setTyper(ev.member, !!ev.typing);
        break;
      }
      case 'conversation.updated': {
        if (ev.conversation) { this.conversation = ev.conversation; this.renderHead(); }
        break;
      }
      default:
        break;
    }
  }
}

function rank(status) {
  return { sent: 1, delivered: 2, read: 3 }[status] || 0;
}
