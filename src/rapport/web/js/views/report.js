// "Report conversation" (issue 12): a reason, an optional note, and optionally a block in the
// same step. The conversation then leaves the inbox; the reported member is not told.
// The thread's conversation menu (conversation-menu.js) picks this module up.

import { request } from '../api.js';
import { app } from '../app.js';
import { h, toast } from '../dom.js';
import { otherParticipants } from './inbox.js';
import { expectOwnRemoval } from './participants.js';

const REASONS = [
  ['spam', 'Spam or scam'],
  ['harassment', 'Harassment or hate'],
  ['inappropriate', 'Inappropriate content'],
  ['other', 'Something else'],
];

export function openReportDialog(conversation) {
  const opener = document.activeElement;
  const others = app.me ? otherParticipants(app, conversation) : [];
  const one = others.length === 1 && others[0].handle ? others[0] : null;
  const reasons = h('fieldset', { class: 'report-reasons' },
    h('legend', {}, 'Why are you reporting this conversation?'),
    REASONS.map(([value, label], i) => h('label', { class: 'report-reason' },
      h('input', { type: 'radio', name: 'report-reason', value, checked: i === 0 }), ` ${label}`)));
  const note = h('textarea', { id: 'report-note', class: 'input', maxlength: '1000', rows: '3' });
  const block = one ? h('input', { id: 'report-block', type: 'checkbox' }) : null;
  const error = h('p', { class: 'form-error', role: 'alert' });
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel');
  const send = h('button', { type: 'submit', class: 'btn btn-danger' }, 'Report');
  const form = h('form', { class: 'confirm', method: 'dialog' },
    h('h2', { id: 'report-title' }, 'Report conversation'),
    h('p', { id: 'report-text', class: 'muted' },
      'Moderators will review it. It leaves your inbox, and nobody in it is told who reported it.'),
    reasons,
    h('div', { class: 'field' }, h('label', { for: 'report-note' }, 'Anything moderators should know? (optional)'), note),
    block ? h('label', { class: 'report-block' }, block, ` Also block ${one.name || one.handle}`) : null,
    error,
    h('div', { class: 'dialog-actions' }, cancel, send));
  const dialog = h('dialog', { class: 'dialog dialog-small', 'aria-labelledby': 'report-title', 'aria-describedby': 'report-text' }, form);
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus({ preventScroll: true });
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const reason = form.querySelector('input[name="report-reason"]:checked')?.value || 'other';
    const body = { reason, block: !!block?.checked };
    if (note.value.trim()) body.note = note.value.trim();
    send.disabled = true;
    expectOwnRemoval(app, conversation.id);
    try {
      await request('POST', `/conversations/${conversation.id}/report`, body);
      dialog.close();
      toast(body.block ? 'Reported and blocked. The conversation left your inbox.' : 'Reported. The conversation left your inbox.');
      app.inbox?.scheduleReload?.();
      app.navigate('#/inbox');
    } catch (err) {
      app.ownRemovals?.delete(String(conversation.id));
      error.textContent = err.code === 'already_reported' ? 'You already reported this conversation.' : err.message;
    } finally {
      send.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  form.querySelector('input[name="report-reason"]')?.focus();
}
