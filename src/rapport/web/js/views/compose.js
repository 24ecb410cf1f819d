// The new-message dialog. When the server refuses (403 connection_required / blocked) the
// dialog says why, in the server's words, and offers what is possible: invite to connect,
// or — for premium members — send an InMail with a subject, showing the credits left.
// The client never decides who may be messaged: it asks, and explains the answer.

import { api, newClientId } from '../api.js';
import { h, clear, avatar, icon, toast } from '../dom.js';

const DEGREE = { 1: '1st', 2: '2nd', 3: '3rd+' };
const TITLES = {
  connection_required: (name) => `You are not connected with ${name}`,
  blocked: (name) => `You can’t message ${name}`,
  no_inmail_credits: () => 'No InMail credits left',
  member_not_found: () => 'No member with that handle',
};

const credits = (n) => `${n} InMail credit${n === 1 ? '' : 's'} left`;

export async function openCompose(app, prefill = {}) {
  document.getElementById('compose-dialog')?.remove();
  const opener = document.activeElement;

  const toInput = h('input', {
    id: 'compose-to', name: 'to', class: 'input', required: true, list: 'compose-people',
    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'Name or handle',
    value: prefill.to || '', 'aria-describedby': 'compose-to-hint',
  });
  const datalist = h('datalist', { id: 'compose-people' });
  const recipientCard = h('div', { class: 'recipient-card', hidden: true, 'data-testid': 'compose-recipient' });
  const subjectInput = h('input', { id: 'compose-subject', name: 'subject', class: 'input', maxlength: '200' });
  const subjectField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'compose-subject' }, 'Subject'), subjectInput);
  const bodyInput = h('textarea', { id: 'compose-body', name: 'body', class: 'input', rows: '5', required: true, maxlength: '8000' });
  bodyInput.value = prefill.body || '';
  const inmailBanner = h('p', { class: 'inmail-banner', hidden: true, 'data-testid': 'inmail-credits' });
  const problem = h('div', { class: 'problem', role: 'alert', hidden: true, 'data-testid': 'compose-problem' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send');
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel');

  let inmail = false;
  let dialog = null;

  const form = h('form', { class: 'compose-form', novalidate: true },
    h('div', { class: 'dialog-head' },
      h('h2', { id: 'compose-title' }, 'New message'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-icon', 'aria-label': 'Close', onclick: () => dialog.close() }, icon('close')),
    ),
    h('div', { class: 'field' },
      h('label', { for: 'compose-to' }, 'To'),
      toInput, datalist,
      h('p', { class: 'hint muted', id: 'compose-to-hint' }, app.isPremium()
        ? `You can message your connections, or anyone by InMail (${credits(app.credits)}). Type a name or handle.`
        : 'You can message your connections. Type a name or handle.'),
      recipientCard,
    ),
    inmailBanner,
    subjectField,
    h('div', { class: 'field' }, h('label', { for: 'compose-body' }, 'Message'), bodyInput,
      h('p', { class: 'hint muted' }, 'Ctrl+Enter to send')),
    problem,
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );
  dialog = h('dialog', { id: 'compose-dialog', class: 'dialog', 'aria-labelledby': 'compose-title' }, form);
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  (prefill.to ? bodyInput : toInput).focus();

  const known = new Map(); // handle -> member, for the recipient card
  const addOption = (m) => {
    if (known.has(m.handle) || m.id === app.me.id) return;
    known.set(m.handle, m);
    datalist.append(h('option', { value: m.handle }, m.headline ? `${m.name} · ${m.headline}` : m.name));
  };
  api.connections().then(({ connections }) => connections.forEach(addOption)).catch(() => {});

  const handle = () => toInput.value.trim().replace(/^@/, '');
  const recipientName = () => known.get(handle())?.name || handle();

  let lookupTimer = null;
  let lookupFor = '';
  function lookUp() {
    clearTimeout(lookupTimer);
    const text = handle();
    lookupTimer = setTimeout(async () => {
      if (!text) { recipientCard.hidden = true; return; }
      lookupFor = text;
      api.searchMembers(text).then(({ members }) => members.forEach(addOption)).catch(() => {});
      try {
        const { member, degree } = await api.member(text);
        if (lookupFor !== text) return;
        known.set(member.handle, member);
        clear(recipientCard).append(
          avatar(member, 'sm'),
          h('div', {},
            h('p', { class: 'strong' }, member.name, ' ', h('span', { class: 'degree' }, DEGREE[degree] ? `· ${DEGREE[degree]}` : '')),
            member.headline ? h('p', { class: 'muted' }, member.headline) : null),
        );
        recipientCard.hidden = false;
      } catch {
        if (lookupFor === text) recipientCard.hidden = true;
      }
    }, 250);
  }
  if (prefill.to) lookUp();

  function setInmail(on) {
    inmail = on;
    subjectField.hidden = !on;
    inmailBanner.hidden = !on;
    clear(inmailBanner).append(
      h('span', { class: 'tag' }, 'InMail'),
      ` ${credits(app.credits)}. Sending this InMail uses one credit; you get it back if ${recipientName()} replies within 90 days.`,
    );
    submit.textContent = on ? 'Send InMail' : 'Send';
    if (on) subjectInput.focus();
  }

  async function resolveName() {
    const who = handle();
    if (known.has(who)) return;
    try {
      const { member } = await api.member(who);
      known.set(member.handle, member);
    } catch { /* unknown or hidden: the handle will do */ }
  }

  async function showProblem(err) {
    if (err.code === 'connection_required' || err.code === 'blocked') await resolveName();
    clear(problem);
    delete problem.dataset.kind;
    const who = handle();
    const title = TITLES[err.code]?.(recipientName());
    if (title) problem.append(h('p', { class: 'problem-title' }, title));
    problem.append(h('p', { class: 'problem-text', 'data-testid': 'server-message' }, err.message));
    const actions = h('div', { class: 'problem-actions' });
    if (err.code === 'connection_required') {
      const inviteBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, `Invite ${recipientName()} to connect`);
      inviteBtn.addEventListener('click', async () => {
        inviteBtn.disabled = true;
        try {
          const note = bodyInput.value.trim().slice(0, 300) || undefined;
          await api.invite(who, note);
          problem.dataset.kind = 'ok';
          clear(problem).append(
            h('p', { class: 'problem-title' }, 'Invitation sent'),
            h('p', { class: 'problem-text' }, `You can message ${recipientName()} once they accept.`),
          );
        } catch (e2) {
          inviteBtn.disabled = false;
          problem.append(h('p', { class: 'problem-text' }, e2.message));
        }
      });
      actions.append(inviteBtn);
      if (app.isPremium()) {
        if (app.credits > 0) {
          actions.append(h('button', {
            type: 'button', class: 'btn btn-primary btn-small', onclick: () => { problem.hidden = true; setInmail(true); },
          }, `Send an InMail (${credits(app.credits)})`));
        } else {
          actions.append(h('p', { class: 'muted' }, 'You have no InMail credits left this month.'));
        }
      } else {
        actions.append(h('p', { class: 'muted' }, 'Premium members can also send an InMail.'));
      }
    }
    if (actions.childNodes.length) problem.append(actions);
    problem.hidden = false;
  }

  bodyInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  toInput.addEventListener('input', () => {
    problem.hidden = true;
    if (inmail) setInmail(false);
    lookUp();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const to = handle();
    const body = bodyInput.value.trim();
    const missing = !to ? toInput : !body ? bodyInput : inmail && !subjectInput.value.trim() ? subjectInput : null;
    if (missing) {
      missing.setAttribute('aria-invalid', 'true');
      missing.focus();
      toast(missing === toInput ? 'Choose who to message.' : missing === bodyInput ? 'Write a message first.' : 'An InMail needs a subject.');
      return;
    }
    for (const el of [toInput, bodyInput, subjectInput]) el.removeAttribute('aria-invalid');
    submit.disabled = true;
    problem.hidden = true;
    const payload = { to: [to], body, client_id: newClientId() };
    if (inmail) { payload.kind = 'inmail'; payload.subject = subjectInput.value.trim(); }
    try {
      const { conversation } = await api.startConversation(payload);
      if (inmail) {
        try { await app.refreshMe(); } catch { /* fine */ }
        toast(`InMail sent. ${credits(app.credits)}.`);
      }
      dialog.close();
      app.inbox?.scheduleReload();
      app.navigate(`#/c/${conversation.id}`);
    } catch (err) {
      submit.disabled = false;
      if (err.code === 'connection_required' || err.code === 'no_inmail_credits') {
        try { await app.refreshMe(); } catch { /* keep the old count */ }
      }
      if (inmail && err.code === 'connection_required') setInmail(false);
      await showProblem(err);
    }
  });
}
