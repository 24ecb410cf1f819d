// Invitations: received (accept / decline) and sent (withdraw), and inviting someone.

import { api } from '../api.js';
import { h, clear, avatar, shortTime, fullTime, toast } from '../dom.js';

export function renderInvitations(main, app, { onChange } = {}) {
  let direction = 'received';
  const list = h('ul', { class: 'inv-list', 'aria-live': 'polite', 'data-testid': 'invitations' });
  const tabs = ['received', 'sent'].map((d) => h('button', {
    type: 'button', class: 'chip', 'aria-pressed': d === direction ? 'true' : 'false', dataset: { dir: d },
    onclick: () => { direction = d; for (const t of tabs) t.setAttribute('aria-pressed', t.dataset.dir === d ? 'true' : 'false'); load(); },
  }, d === 'received' ? 'Received' : 'Sent'));

  const toInput = h('input', { id: 'invite-to', class: 'input', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const noteInput = h('input', { id: 'invite-note', class: 'input', maxlength: '300' });
  const inviteMsg = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const inviteForm = h('form', { class: 'invite-form' },
    h('div', { class: 'field' }, h('label', { for: 'invite-to' }, 'Handle'), toInput),
    h('div', { class: 'field grow' }, h('label', { for: 'invite-note' }, 'Note (optional)'), noteInput),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send invitation'),
  );
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    inviteMsg.hidden = true;
    try {
      await api.invite(toInput.value.trim().replace(/^@/, ''), noteInput.value.trim() || undefined);
      toast(`Invitation sent to ${toInput.value.trim()}.`);
      toInput.value = '';
      noteInput.value = '';
      if (direction === 'sent') load();
    } catch (err) {
      inviteMsg.textContent = err.message;
      inviteMsg.hidden = false;
    }
  });

  // The server lists pending invitations only; what was just answered stays in view, with
  // its outcome, until the page is left (an accepted one offers to message right away).
  const answered = new Map();

  async function act(inv, action) {
    try {
      const { invitation } = await api.invitationAction(inv.id, action);
      if (action !== 'decline') answered.set(inv.id, { ...inv, ...invitation, dir: direction });
      toast({ accept: 'Invitation accepted. You are now connected.', decline: 'Invitation declined.', withdraw: 'Invitation withdrawn.' }[action]);
      load();
      onChange?.();
    } catch (err) {
      toast(err.message);
    }
  }

  async function load() {
    const dir = direction;
    try {
      const fetched = await api.invitations(dir);
      if (dir !== direction) return;
      const ids = new Set(fetched.invitations.map((i) => i.id));
      const invitations = [...[...answered.values()].filter((i) => i.dir === dir && !ids.has(i.id)), ...fetched.invitations];
      clear(list);
      if (!invitations.length) {
        list.append(h('li', { class: 'muted empty' }, dir === 'received' ? 'No invitations waiting for you.' : 'You have no sent invitations.'));
        return;
      }
      for (const inv of invitations) {
        const other = dir === 'received' ? (inv.from_member || { handle: inv.from, name: inv.from }) : (inv.to_member || { handle: inv.to, name: inv.to });
        const actions = h('div', { class: 'inv-actions' });
        if (inv.state === 'pending') {
          if (dir === 'received') {
            actions.append(
              h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => act(inv, 'decline'), 'aria-label': `Decline invitation from ${other.name}` }, 'Decline'),
              h('button', { type: 'button', class: 'btn btn-primary', onclick: () => act(inv, 'accept'), 'aria-label': `Accept invitation from ${other.name}` }, 'Accept'),
            );
          } else {
            actions.append(h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => act(inv, 'withdraw'), 'aria-label': `Withdraw invitation to ${other.name}` }, 'Withdraw'));
          }
        } else if (inv.state === 'accepted') {
          actions.append(
            h('span', { class: 'muted' }, 'Connected'),
            h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => app.compose({ to: other.handle }) }, 'Message'),
          );
        } else {
          actions.append(h('span', { class: 'tag' }, inv.state));
        }
        list.append(h('li', { class: 'inv-item', dataset: { id: inv.id } },
          avatar(other, 'md'),
          h('div', { class: 'inv-main' },
            h('p', { class: 'strong' }, other.name || other.handle),
            h('p', { class: 'muted' }, `@${other.handle}`, other.headline ? ` · ${other.headline}` : '', ' · ',
              h('time', { datetime: inv.created_at, title: fullTime(inv.created_at) }, shortTime(inv.created_at))),
            inv.note ? h('blockquote', { class: 'inv-note' }, inv.note) : null,
          ),
          actions,
        ));
      }
    } catch (err) {
      clear(list).append(h('li', { class: 'form-error', role: 'alert' }, err.message));
    }
  }

  const offLive = app.onLive((ev) => {
    if (!list.isConnected) { offLive(); return; }
    if (ev.type.startsWith('invitation.')) load();
  });

  clear(main).append(h('div', { class: 'page' },
    h('h1', {}, 'Invitations'),
    h('section', { class: 'card', 'aria-labelledby': 'invite-title' }, h('h2', { id: 'invite-title' }, 'Invite someone to connect'), inviteForm, inviteMsg),
    h('section', { class: 'card', 'aria-labelledby': 'inv-title' },
      h('h2', { id: 'inv-title' }, 'Your invitations'),
      h('div', { class: 'filters', role: 'group', 'aria-label': 'Direction' }, tabs),
      list),
  ));
  load();
}
