// Settings: the reciprocal "read receipts and typing indicators" switch, Open Profile
// (premium), and messages from group members.

import { api } from '../api.js';
import { h, clear, avatar, toast } from '../dom.js';
import { renderProfileEditor, renderBlocked } from './profile.js';
import { renderAccount } from './account.js';
import { renderNotificationSettings } from './notification-settings.js';

const SWITCHES = [
  {
    key: 'read_receipts_and_typing',
    label: 'Read receipts and typing indicators',
    help: 'Let people you message see when you have read their messages and when you are typing. When off, you will not see theirs either.',
  },
  {
    key: 'open_profile',
    label: 'Open Profile',
    help: 'Let any member message you for free, even if you are not connected.',
    premium: true,
  },
  {
    key: 'messages_from_group_members',
    label: 'Messages from group members',
    help: 'Let members of groups you share message you without being connected.',
  },
];

export function renderSettings(main, app) {
  const page = h('div', { class: 'page' },
    h('h1', {}, 'Settings'),
    h('section', { class: 'card profile-card', 'aria-label': 'Your profile' },
      avatar(app.me, 'md'),
      h('div', {},
        h('p', { class: 'strong' }, app.me.name),
        h('p', { class: 'muted' }, `@${app.me.handle} · ${app.isPremium() ? 'Premium' : 'Free'}${app.isPremium() ? ` · ${app.credits} InMail credits` : ''}`)),
    ),
  );
  const list = h('section', { class: 'card', 'aria-labelledby': 'privacy-title' }, h('h2', { id: 'privacy-title' }, 'Messaging and privacy'));
  for (const s of SWITCHES) {
    const id = `setting-${s.key}`;
    const locked = s.premium && !app.isPremium();
    const input = h('input', {
      type: 'checkbox', role: 'switch', id, class: 'switch-input',
      'aria-describedby': `${id}-help`, disabled: locked,
    });
    input.checked = !!app.settings?.[s.key];
    input.addEventListener('change', async () => {
      const value = input.checked;
      input.disabled = true;
      try {
        const { settings } = await api.updateSettings({ [s.key]: value });
        app.settings = settings;
        input.checked = !!settings[s.key];
        toast('Settings saved.');
      } catch (err) {
        input.checked = !value;
        toast(err.message);
      } finally {
        input.disabled = locked;
      }
    });
    list.append(h('div', { class: 'setting' },
      h('div', { class: 'setting-text' },
        h('label', { for: id, class: 'setting-label' }, s.label, locked ? h('span', { class: 'tag' }, 'Premium') : null),
        h('p', { id: `${id}-help`, class: 'muted' }, s.help, locked ? ' Available to Premium members.' : ''),
      ),
      h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
    ));
  }
  page.append(list);
  // Profile editing replaces the read-only card; blocked members go last (issue 14).
  page.querySelector('.profile-card')?.replaceWith(renderProfileEditor(app));
  page.append(renderNotificationSettings(), renderAccount(app), renderBlocked());
  clear(main).append(page);
}
