// The notification centre: a bell with the unread count in the top bar, and its list.
// Live: notification.new / notification.read events keep the badge and the list current.

import { request } from '../api.js';
import { h, clear, avatar, shortTime, fullTime, announce } from '../dom.js';

export function useStyles() {
  if (document.querySelector('link[data-styles="notifications"]')) return;
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/notifications.css', 'data-styles': 'notifications' }));
}

const BELL = 'M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0';

const TEXT = {
  invitation_received: (a) => `${a} invited you to connect`,
  invitation_accepted: (a) => `${a} accepted your invitation`,
  mention: (a) => `${a} mentioned you`,
  group_request: (a) => `${a} asked to join your group`,
  group_approved: (a) => `${a} approved your request to join the group`,
  profile_view: (a) => `${a} viewed your profile`,
  endorsement: (a) => `${a} endorsed you`,
};

export function describe(n) {
  const who = n.actor?.name || 'Someone';
  return (TEXT[n.kind] || ((a) => `${a}: ${n.kind}`))(who);
}

function target(n) {
  if (n.conversation_id) return `#/c/${n.conversation_id}`;
  if (n.kind === 'invitation_received') return '#/invitations';
  if (n.kind === 'group_request' || n.kind === 'group_approved') return '#/groups';
  return null;
}

function bellIcon() {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(SVG_NS, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': '1.8', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' })) svg.setAttribute(k, v);
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', BELL);
  svg.append(path);
  return svg;
}

export class NotificationBell {
  constructor(app) {
    useStyles();
    this.app = app;
    this.unread = 0;
    this.items = [];
    this.cursor = null;
    this.serial = 0;
    this.badge = h('span', { class: 'badge nav-badge bell-badge', hidden: true, 'aria-hidden': 'true', 'data-testid': 'notification-badge' });
    this.button = h('button', {
      type: 'button', class: 'btn btn-ghost btn-icon bell', 'aria-haspopup': 'true', 'aria-expanded': 'false',
      'aria-controls': 'notification-panel', onclick: () => this.toggle(),
    }, bellIcon(), this.badge);
    this.list = h('ul', { class: 'notification-list', 'aria-label': 'Notifications' });
    this.more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, onclick: () => this.load(true) }, 'Show older');
    this.readAll = h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => this.markAllRead() }, 'Mark all as read');
    this.panel = h('div', { id: 'notification-panel', class: 'notification-panel card', role: 'region', 'aria-label': 'Notifications', hidden: true },
      h('div', { class: 'notification-head' }, h('h2', {}, 'Notifications'), this.readAll),
      this.list, this.more);
    this.el = h('div', { class: 'bell-wrap' }, this.button, this.panel);
    this.onKey = (e) => { if (e.key === 'Escape' && !this.panel.hidden) { this.close(); this.button.focus(); } };
    this.onOutside = (e) => { if (!this.el.contains(e.target)) this.close(); };
    document.addEventListener('keydown', this.onKey);
    document.addEventListener('click', this.onOutside);
    this.offLive = app.onLive((ev) => this.onEvent(ev));
    this.setUnread(0);
    this.load(false);
  }

  setUnread(n) {
    this.unread = n;
    this.badge.hidden = n === 0;
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.button.setAttribute('aria-label', n ? `Notifications, ${n} unread` : 'Notifications');
    this.button.title = this.button.getAttribute('aria-label');
  }

  async load(older) {
    // A page asked for before a read (or read-all) answers with the count from before it:
    // only the newest request may set the list and the badge.
    const serial = ++this.serial;
    try {
      const page = await request('GET', `/notifications?limit=20${older && this.cursor ? `&cursor=${encodeURIComponent(this.cursor)}` : ''}`);
      if (serial !== this.serial) return;
      this.items = older ? this.items.concat(page.notifications) : page.notifications;
      this.cursor = page.next_cursor;
      this.setUnread(page.unread_count);
      this.render();
    } catch { /* the badge can wait for the next event */ }
  }

  render() {
    clear(this.list);
    if (!this.items.length) this.list.append(h('li', { class: 'muted notification-empty' }, 'No notifications yet.'));
    for (const n of this.items) {
      const text = describe(n);
      this.list.append(h('li', { class: `notification${n.read_at ? '' : ' unread'}`, dataset: { id: n.id } },
        h('button', { type: 'button', class: 'notification-open', onclick: () => this.open(n) },
          n.actor ? avatar(n.actor, 'sm') : null,
          h('span', { class: 'notification-text' }, text, n.read_at ? null : h('span', { class: 'sr-only' }, ' (unread)')),
          h('time', { datetime: n.created_at, title: fullTime(n.created_at), class: 'muted' }, shortTime(n.created_at)))));
    }
    this.more.hidden = !this.cursor;
    this.readAll.disabled = this.unread === 0;
  }

  toggle() { if (this.panel.hidden) this.show(); else this.close(); }

  show() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.load(false);
    this.list.querySelector('button')?.focus();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  async open(n) {
    if (!n.read_at) {
      this.serial += 1; // a page still on its way would count this one as unread
      n.read_at = new Date().toISOString();
      this.setUnread(Math.max(0, this.unread - 1));
      this.render();
      try { await request('POST', `/notifications/${encodeURIComponent(n.id)}/read`); } catch { /* shown as read anyway */ }
    }
    const hash = target(n);
    this.close();
    if (hash) this.app.navigate(hash);
  }

  async markAllRead() {
    this.serial += 1; // a page still on its way would bring back the old count
    await request('POST', '/notifications/read-all');
    for (const n of this.items) n.read_at = n.read_at || new Date().toISOString();
    this.setUnread(0);
    this.render();
  }

  onEvent(ev) {
    if (ev.type === 'notification.new' && ev.notification) {
      // A page that already holds it (it raced the event) has counted it too.
      if (this.items.some((n) => n.id === ev.notification.id)) return;
      this.items.unshift(ev.notification);
      this.setUnread(this.unread + 1);
      this.render();
      announce(describe(ev.notification));
    } else if (ev.type === 'notification.read') {
      if (ev.notification_id === null) for (const n of this.items) n.read_at = n.read_at || ev.at;
      else for (const n of this.items) if (n.id === ev.notification_id) n.read_at = n.read_at || ev.at;
      if (typeof ev.unread_count === 'number') this.setUnread(ev.unread_count);
      this.render();
    }
  }

  destroy() {
    this.offLive();
    document.removeEventListener('keydown', this.onKey);
    document.removeEventListener('click', this.onOutside);
  }
}
