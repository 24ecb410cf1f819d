// The participants panel of a group chat or multi conversation, opened from the thread's
// header: who is in it, add people (any participant may; the server says no for everyone
// at once if one cannot be added), remove someone, leave, and rename the conversation.
// Live `conversation.updated` events keep the open thread's title and people current, and
// `conversation.removed` (removed by someone, or left on another device) closes it.

import { request } from '../api.js';
import { h, clear, avatar, icon, toast } from '../dom.js';
import { ensureGroupStyles } from '../mentions.js';

const participantsApi = {
  add: (id, handles) => request('POST', `/conversations/${id}/participants`, { handles }),
  remove: (id, handle) => request('DELETE', `/conversations/${id}/participants/${encodeURIComponent(handle)}`),
  rename: (id, title) => request('PATCH', `/conversations/${id}`, { title }),
  get: (id) => request('GET', `/conversations/${id}`),
};

export const isGroupConversation = (c) => c?.kind === 'group_chat' || c?.kind === 'multi';

let listening = false;

/** The header button; `sync()` shows it only for group chats and multi conversations. */
export function participantsButton(thread) {
  listenOnce(thread.app);
  const el = h('button', {
    type: 'button', class: 'btn btn-ghost btn-icon', 'aria-label': 'Participants', title: 'Participants',
    hidden: true, 'aria-haspopup': 'dialog', onclick: () => openParticipants(thread),
  }, icon('people'));
  return { el, sync: () => { el.hidden = !isGroupConversation(thread.conversation); } };
}

/** The member is about to remove a conversation from their own view (leave, delete, report):
 * its `conversation.removed` event must not be announced as if someone else had done it. */
export function expectOwnRemoval(app, conversationId) {
  (app.ownRemovals ||= new Set()).add(String(conversationId));
}

function listenOnce(app) {
  if (listening) return;
  listening = true;
  app.onLive((ev) => {
    if (ev.type === 'conversation.removed') app.inbox?.scheduleReload?.(); // gone from the list too
    const thread = app.thread;
    if (!thread || String(ev.conversation_id) !== thread.id) return;
    if (ev.type === 'conversation.updated' && ev.change && thread.conversation) {
      const next = { ...thread.conversation, title: ev.title ?? null };
      if (ev.participants) next.participants = ev.participants;
      thread.conversation = next;
      thread.renderHead();
      panel?.render();
    } else if (ev.type === 'conversation.removed') {
      // The member's own leave, delete or report: that action says what happened itself.
      if (app.ownRemovals?.delete(thread.id)) return;
      panel?.dialog.close();
      toast('You are no longer in that conversation.');
      app.navigate('#/inbox');
    }
  });
}

let panel = null;

function openParticipants(thread) {
  ensureGroupStyles();
  document.getElementById('participants-dialog')?.remove();
  const { app } = thread;
  const problem = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'participants-problem' });
  const list = h('ul', { class: 'people-list', 'aria-label': 'People in this conversation', 'data-testid': 'participants' });
  const titleInput = h('input', { id: 'participants-title', class: 'input', maxlength: '100', autocomplete: 'off' });
  const addInput = h('input', {
    id: 'participants-add', class: 'input', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
    placeholder: 'handle, another-handle', 'aria-describedby': 'participants-add-hint',
  });
  const say = (err) => { problem.textContent = err.message; problem.hidden = false; };
  const apply = (conversation) => {
    thread.conversation = conversation;
    thread.renderHead();
    render();
  };

  const renameForm = h('form', {},
    h('div', { class: 'field' }, h('label', { for: 'participants-title' }, 'Conversation name'), titleInput),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Rename'));
  renameForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.hidden = true;
    try {
      apply((await participantsApi.rename(thread.id, titleInput.value.trim())).conversation);
      toast(titleInput.value.trim() ? 'Conversation renamed.' : 'Name removed.');
    } catch (err) { say(err); }
  });

  const addForm = h('form', {},
    h('div', { class: 'field' }, h('label', { for: 'participants-add' }, 'Add people'), addInput,
      h('p', { class: 'hint muted', id: 'participants-add-hint' }, 'Handles, separated by commas or spaces.')),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add'));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.hidden = true;
    const handles = addInput.value.split(/[\s,]+/).map((s) => s.replace(/^@/, '').trim()).filter(Boolean);
    if (!handles.length) return;
    try {
      apply((await participantsApi.add(thread.id, handles)).conversation);
      addInput.value = '';
      toast(`Added ${handles.length === 1 ? handles[0] : `${handles.length} people`}.`);
    } catch (err) { say(err); }
  });

  async function remove(person) {
    problem.hidden = true;
    const leaving = person.id === app.me.id;
    if (leaving) expectOwnRemoval(app, thread.id);
    try {
      await participantsApi.remove(thread.id, person.handle);
      if (leaving) {
        dialog.close();
        toast('You left the conversation.');
        app.inbox?.scheduleReload?.();
        app.navigate('#/inbox');
        return;
      }
      apply((await participantsApi.get(thread.id)).conversation);
      toast(`${person.name} was removed.`);
    } catch (err) { app.ownRemovals?.delete(String(thread.id)); say(err); }
  }

  function render() {
    const c = thread.conversation;
    if (document.activeElement !== titleInput) titleInput.value = c?.title || '';
    clear(list);
    for (const p of c?.participants || []) {
      const me = p.id === app.me.id;
      list.append(h('li', { class: 'person-item', dataset: { handle: p.handle } },
        avatar(p, 'sm'),
        h('div', { class: 'person-main' },
          h('p', { class: 'strong' }, me ? `${p.name} (you)` : p.name),
          h('p', { class: 'muted' }, `@${p.handle}`)),
        h('div', { class: 'person-actions' }, me
          ? h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => remove(p) }, 'Leave conversation')
          : h('button', { type: 'button', class: 'btn btn-ghost', 'aria-label': `Remove ${p.name}`, onclick: () => remove(p) }, 'Remove')),
      ));
    }
  }

  const dialog = h('dialog', { id: 'participants-dialog', class: 'dialog participants-dialog', 'aria-labelledby': 'participants-heading' },
    h('div', { class: 'dialog-head' },
      h('h2', { id: 'participants-heading' }, 'Participants'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-icon', 'aria-label': 'Close', onclick: () => dialog.close() }, icon('close'))),
    renameForm, list, addForm, problem);
  const opener = document.activeElement;
  dialog.addEventListener('close', () => {
    dialog.remove();
    panel = null;
    if (opener?.isConnected) opener.focus({ preventScroll: true });
  });
  panel = { dialog, render };
  render();
  document.body.append(dialog);
  dialog.showModal();
  addInput.focus();
}
