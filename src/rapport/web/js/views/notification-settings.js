// Settings → Notifications: a grid of kinds × channels, message previews, and Web Push for
// this browser (a service worker from /sw.js; permission is asked only when the member clicks).

import { request } from '../api.js';
import { h, clear, toast } from '../dom.js';
import { useStyles } from './notifications.js';

const KINDS = [
  ['message', 'Messages'],
  ['inmail', 'InMail'],
  ['invitation', 'Invitations'],
  ['group', 'Groups'],
  ['mention', 'Mentions'],
  ['sponsored', 'Sponsored messages'],
];
const CHANNELS = [
  ['in_app', 'In app', 'in the app'],
  ['email', 'E-mail', 'by e-mail'],
  ['push', 'Push', 'by push'],
];

function b64urlToBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function renderNotificationSettings() {
  useStyles();
  const section = h('section', { class: 'card', 'aria-labelledby': 'notify-title' },
    h('h2', { id: 'notify-title' }, 'Notifications'),
    h('p', { class: 'muted' }, 'Choose how you hear about each kind of activity. E-mail and push wait 10 minutes and skip anything you have already read.'));
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  section.append(body, renderPush());
  load(body);
  return section;
}

async function load(body) {
  let state;
  try {
    state = await request('GET', '/me/notification-preferences');
  } catch (err) {
    clear(body).append(h('p', { role: 'alert' }, err.message));
    return;
  }
  const table = h('table', { class: 'notify-grid' },
    h('caption', {}, 'Where each kind of notification reaches you'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), ...CHANNELS.map(([, label]) => h('th', { scope: 'col' }, label)))));
  const tbody = h('tbody');
  for (const [kind, label] of KINDS) {
    const row = h('tr', {}, h('th', { scope: 'row' }, label));
    for (const [channel, , phrase] of CHANNELS) {
      const box = h('input', { type: 'checkbox', 'aria-label': `${label} ${phrase}`, dataset: { kind, channel } });
      box.checked = !!state.preferences[kind]?.[channel];
      box.addEventListener('change', () => save(box, { preferences: { [kind]: { [channel]: box.checked } } }));
      row.append(h('td', {}, box));
    }
    tbody.append(row);
  }
  table.append(tbody);
  const previews = h('input', { type: 'checkbox', role: 'switch', id: 'setting-email-previews', class: 'switch-input', 'aria-describedby': 'setting-email-previews-help' });
  previews.checked = !!state.email_previews;
  previews.addEventListener('change', () => save(previews, { email_previews: previews.checked }));
  clear(body).append(table, h('div', { class: 'setting' },
    h('div', { class: 'setting-text' },
      h('label', { for: 'setting-email-previews', class: 'setting-label' }, 'Message text in e-mails and pushes'),
      h('p', { id: 'setting-email-previews-help', class: 'muted' }, 'When off, they name the sender and the conversation but never quote a message.')),
    h('span', { class: 'switch' }, previews, h('span', { class: 'switch-track', 'aria-hidden': 'true' }))));
}

async function save(input, change) {
  input.disabled = true;
  try {
    await request('PATCH', '/me/notification-preferences', change);
    toast('Notification settings saved.');
  } catch (err) {
    input.checked = !input.checked;
    toast(err.message);
  } finally {
    input.disabled = false;
  }
}

function renderPush() {
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const on = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Turn on push');
  const off = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, 'Turn off push');
  const row = h('div', { class: 'push-row' }, on, off, status);
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (!supported) {
    on.disabled = true;
    status.textContent = 'This browser cannot receive push notifications.';
    return row;
  }
  const show = (subscribed, text) => {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    status.textContent = text;
  };
  (async () => {
    const registration = await navigator.serviceWorker.getRegistration('/');
    const existing = await registration?.pushManager.getSubscription();
    show(!!existing, existing ? 'Push is on for this browser.' : 'Get notified on this device even when Rapport is closed.');
  })().catch(() => {});
  on.addEventListener('click', async () => {
    on.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        show(false, 'Notifications are blocked for this site: allow them in the browser settings, then try again.');
        return;
      }
      const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      const { key } = await request('GET', '/push/vapid-key');
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
      const json = subscription.toJSON();
      await request('POST', '/push/subscriptions', { endpoint: json.endpoint, keys: json.keys });
      show(true, 'Push is on for this browser.');
    } catch (err) {
      show(false, `Push could not be turned on: ${err.message || err}`);
    } finally {
      on.disabled = false;
    }
  });
  off.addEventListener('click', async () => {
    off.disabled = true;
    try {
      const registration = await navigator.serviceWorker.getRegistration('/');
      const subscription = await registration?.pushManager.getSubscription();
      if (subscription) {
        const { subscriptions } = await request('GET', '/push/subscriptions');
        const mine = subscriptions.find((s) => s.endpoint === subscription.endpoint);
        if (mine) await request('DELETE', `/push/subscriptions/${encodeURIComponent(mine.id)}`);
        await subscription.unsubscribe();
      }
      show(false, 'Push is off for this browser.');
    } catch (err) {
      toast(err.message || String(err));
    } finally {
      off.disabled = false;
    }
  });
  return row;
}
