// Rapport web client: boot, routing, the signed-in shell, and the live event fan-out.

import { api, auth, setUnauthorizedHandler } from './api.js';
import { Live } from './live.js';
import { h, clear, avatar, icon, toast } from './dom.js';
import { renderAuth } from './views/auth.js';
import { Inbox } from './views/inbox.js';
import { Thread } from './views/thread.js';
import { openCompose } from './views/compose.js';
import { renderSettings } from './views/settings.js';
import { NotificationBell } from './views/notifications.js';
import { renderInvitations } from './views/invitations.js';
import { renderInsights } from './views/insights.js';
import { renderGroups } from './views/groups.js';
import { renderCampaigns, revealCampaignsLink } from './views/campaigns.js';

const root = document.getElementById('root');
const connStatus = document.getElementById('conn-status');

export const app = {
  me: null,
  settings: null,
  credits: 0,
  live: null,
  inbox: null,
  thread: null,
  page: null,
  listeners: new Set(),

  isPremium() { return !!this.me && this.me.tier !== 'free'; },
  receiptsOn() { return !!this.settings?.read_receipts_and_typing; },

  async refreshMe() {
    const data = await api.me();
    this.me = data.member;
    this.settings = data.settings;
    this.credits = data.inmail_credits ?? 0;
    return data;
  },

  onLive(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); },

  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },

  compose(prefill) { openCompose(this, prefill); },

  setUnreadTotal(n) { setUnreadTotal(n); },

  async signIn(token) {
    auth.token = token;
    this.focusInbox = true; // the inbox takes focus once it has loaded
    await boot();
  },

  async signOut() {
    try { await api.logout(); } catch { /* token may already be gone */ }
    signedOut();
  },
};

function signedOut() {
  auth.token = null;
  app.live?.stop();
  app.live = null;
  app.thread?.destroy();
  app.thread = null;
  app.inbox = null;
  app.me = null;
  shell = null;
  connStatus.hidden = true;
  if (location.hash !== '#/login' && location.hash !== '#/signup') history.replaceState(null, '', '#/login');
  route();
}

setUnauthorizedHandler(() => {
  if (app.me) {
    toast('Your session ended. Please sign in again.');
    signedOut();
  }
});

// ---- shell -------------------------------------------------------------------------

let shell = null;
let invitationCount = 0;

function buildShell() {
  const navLink = (href, label, id, iconName, ...extra) => h('a', { href, class: 'nav-link', dataset: { nav: id } },
    icon(iconName), h('span', { class: 'nav-label' }, label), ...extra);
  const invBadge = h('span', { class: 'badge nav-badge', hidden: true, 'data-testid': 'invitation-badge' });
  const msgBadge = h('span', { class: 'badge nav-badge', hidden: true, 'data-testid': 'message-badge' });
  const nav = h('nav', { class: 'topnav', 'aria-label': 'Main' },
    navLink('#/inbox', 'Messaging', 'inbox', 'chat', msgBadge),
    navLink('#/invitations', 'Invitations', 'invitations', 'people', invBadge),
    navLink('#/groups', 'Groups', 'groups', 'people'),
    navLink('#/insights', 'Insights', 'insights', 'chart'),
    navLink('#/campaigns', 'Campaigns', 'campaigns', 'send'),
    navLink('#/settings', 'Settings', 'settings', 'gear'),
  );
  const meBox = h('div', { class: 'me' },
    avatar(app.me, 'sm'),
    h('span', { class: 'me-name' }, app.me.name),
    h('button', {
      type: 'button', class: 'btn btn-ghost btn-icon', 'aria-label': 'Sign out', title: 'Sign out',
      onclick: () => app.signOut(),
    }, icon('logout')),
  );
  const header = h('header', { class: 'topbar' },
    h('a', { href: '#/inbox', class: 'brand', 'aria-label': 'Rapport, messaging' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'r'), h('span', { class: 'brand-name' }, 'Rapport')),
    nav,
    meBox,
  );
  app.bell?.destroy();
  app.bell = new NotificationBell(app);
  meBox.prepend(app.bell.el);
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  clear(root).append(header, main);
  shell = { header, main, nav, invBadge, msgBadge, messaging: null };
  const campaignsLink = nav.querySelector('[data-nav="campaigns"]');
  campaignsLink.hidden = true;
  revealCampaignsLink(campaignsLink); // advertisers only
}

function setUnreadTotal(n) {
  document.title = `${n ? `(${n}) ` : ''}${document.title.replace(/^\(\d+\) /, '')}`;
  if (!shell) return;
  shell.msgBadge.hidden = n === 0;
  shell.msgBadge.textContent = String(n);
  shell.msgBadge.setAttribute('aria-label', `${n} unread conversation${n === 1 ? '' : 's'}`);
}

function setInvitationCount(n) {
  invitationCount = n;
  if (!shell) return;
  shell.invBadge.hidden = n === 0;
  shell.invBadge.textContent = String(n);
  shell.invBadge.setAttribute('aria-label', `${n} pending invitation${n === 1 ? '' : 's'}`);
}

async function refreshInvitationCount() {
  try {
    const { invitations } = await api.invitations('received');
    setInvitationCount(invitations.filter((i) => i.state === 'pending').length);
  } catch { /* not important */ }
}

function messagingLayout() {
  if (shell.messaging && shell.main.contains(shell.messaging.el)) return shell.messaging;
  app.inbox = new Inbox(app);
  const threadPane = h('section', { class: 'thread-pane', 'aria-label': 'Conversation' });
  const el = h('div', { class: 'messaging', dataset: { view: 'list' } }, app.inbox.el, threadPane);
  clear(shell.main).append(el);
  shell.messaging = { el, threadPane };
  app.inbox.load();
  return shell.messaging;
}

function showEmptyThread(pane) {
  clear(pane).append(h('div', { class: 'empty-thread' },
    emptyIllustration(),
    h('h2', {}, 'Your messages'),
    h('p', {}, 'Choose a conversation, or start a new one with one of your connections.'),
    h('button', { type: 'button', class: 'btn btn-primary', onclick: () => app.compose() }, 'New message'),
  ));
}

function emptyIllustration() {
  const el = icon('chat');
  el.classList.add('empty-illustration');
  el.setAttribute('stroke-width', '1.2');
  return el;
}

// ---- routing -----------------------------------------------------------------------

function setTitle(page) {
  const prefix = document.title.match(/^\(\d+\) /)?.[0] || '';
  document.title = `${prefix}${page} — Rapport`;
}

function route() {
  const hash = location.hash || '';
  if (!app.me) {
    app.thread?.destroy();
    app.thread = null;
    renderAuth(root, app, hash === '#/signup' ? 'signup' : 'login');
    return;
  }
  if (!shell) buildShell();
  for (const a of shell.nav.querySelectorAll('[data-nav]')) {
    const active = (a.dataset.nav === 'inbox' && (hash.startsWith('#/c/') || hash.startsWith('#/inbox') || hash === '' || hash === '#/'))
      || hash.startsWith(`#/${a.dataset.nav}`);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const m = hash.match(/^#\/c\/([^/?]+)/);
  if (m) {
    const layout = messagingLayout();
    if (!app.thread || app.thread.id !== m[1]) {
      app.thread?.destroy();
      app.thread = new Thread(app, m[1]);
      clear(layout.threadPane).append(app.thread.el);
      app.thread.load();
    }
    const reveal = hash.match(/[?&]m=(\d+)/)?.[1];
    if (reveal) app.thread.reveal(reveal); // opened from a search result
    layout.el.dataset.view = 'thread';
    app.inbox.setActive(m[1]);
    setTitle('Conversation');
    return;
  }
  const leftThread = app.thread?.id;
  app.thread?.destroy();
  app.thread = null;
  if (hash.startsWith('#/settings')) {
    shell.messaging = null;
    renderSettings(clear(shell.main), app);
    setTitle('Settings');
  } else if (hash.startsWith('#/campaigns')) {
    shell.messaging = null;
    renderCampaigns(clear(shell.main), app, hash);
    setTitle('Campaigns');
  } else if (hash.startsWith('#/insights')) {
    shell.messaging = null;
    renderInsights(clear(shell.main), app);
    setTitle('Insights');
  } else if (hash.startsWith('#/groups')) {
    shell.messaging = null;
    renderGroups(clear(shell.main), app, hash);
    setTitle('Groups');
  } else if (hash.startsWith('#/invitations')) {
    shell.messaging = null;
    renderInvitations(clear(shell.main), app, { onChange: refreshInvitationCount });
    setTitle('Invitations');
  } else {
    const layout = messagingLayout();
    showEmptyThread(layout.threadPane);
    layout.el.dataset.view = 'list';
    app.inbox.setActive(null);
    setTitle('Messaging');
    // Back from a thread on a phone: return focus to where the member came from.
    if (leftThread) app.inbox.list.querySelector(`[data-id="${leftThread}"] a`)?.focus({ preventScroll: false });
  }
}

// ---- live events -------------------------------------------------------------------

function startLive() {
  app.live?.stop();
  const live = new Live(auth.token, app.me.id);
  app.live = live;
  let everOpen = false;
  let statusTimer = null;
  live.addEventListener('state', (e) => {
    const state = e.detail;
    clearTimeout(statusTimer);
    if (state === 'open') {
      if (everOpen && !connStatus.hidden) {
        connStatus.textContent = 'Back online.';
        connStatus.dataset.state = 'ok';
        statusTimer = setTimeout(() => { connStatus.hidden = true; }, 1500);
      } else {
        connStatus.hidden = true;
      }
      everOpen = true;
    } else if (state === 'reconnecting') {
      // A short blip is not worth a banner.
      statusTimer = setTimeout(() => {
        connStatus.textContent = 'Connection lost. Reconnecting…';
        connStatus.dataset.state = 'warn';
        connStatus.hidden = false;
      }, 1200);
    }
  });
  live.addEventListener('hello', () => {
    // Catch-up events follow the hello; refresh lists in case this device was away long.
    app.inbox?.scheduleReload();
    app.thread?.onReconnect();
    refreshInvitationCount();
  });
  live.addEventListener('unauthorized', () => {
    toast('Your session ended. Please sign in again.');
    signedOut();
  });
  live.addEventListener('event', (e) => {
    const ev = e.detail;
    app.inbox?.onEvent(ev);
    app.thread?.onEvent(ev);
    if (ev.type === 'invitation.new' || ev.type === 'invitation.accepted') {
      refreshInvitationCount();
      if (ev.type === 'invitation.new') toast(`New invitation from ${ev.invitation?.from_member?.name || ev.invitation?.from || 'someone'}`);
    }
    for (const fn of app.listeners) fn(ev);
  });
  live.start();
}

// ---- boot --------------------------------------------------------------------------

async function boot() {
  if (!auth.token) {
    app.me = null;
    route();
    return;
  }
  try {
    await app.refreshMe();
  } catch (err) {
    if (err.status === 401) {
      auth.token = null;
      app.me = null;
      route();
      return;
    }
    clear(root).append(h('div', { class: 'boot-error', role: 'alert' },
      h('p', {}, err.message || 'Something went wrong.'),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: () => boot() }, 'Try again')));
    return;
  }
  shell = null;
  if (!location.hash || location.hash === '#/login' || location.hash === '#/signup') history.replaceState(null, '', '#/inbox');
  route();
  startLive();
  refreshInvitationCount();
}

window.addEventListener('hashchange', route);
boot();
window.rapport = app; // handy for debugging from the console
