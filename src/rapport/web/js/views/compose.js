// The new-message dialog: recipients as chips (up to 50), picked by name or handle from one's
// connections and the member directory (GET /members?q=). Before sending, the server says for
// each recipient whether the policy lets this message reach them (POST
// /conversations/check-recipients); a refusal is shown at that chip, in plain words. With one
// recipient, a refusal offers what is possible: invite to connect, or — for premium members —
// an InMail with a subject. The client never decides who may be messaged: it asks, and explains.
// The draft is never lost: a failed send leaves recipients, subject and text in place.

import { api, newClientId, limits } from '../api.js';
import { h, clear, avatar, icon, toast } from '../dom.js';
import { attachCounter } from './richtext.js';
import { headlineOf } from './inbox.js';
import { quotaText } from './groups.js';

const DEGREE = { 1: '1st', 2: '2nd', 3: '3rd+' };
const credits = (n) => `${n} InMail credit${n === 1 ? '' : 's'} left`;

/** The policy's refusal in the member's words (never the API's codes or parameters). */
function refusalWords(code, name, { several, premium }) {
  switch (code) {
    case 'connection_required':
      if (several) return `Not connected with ${name}: a message to several people reaches only your connections and fellow group members.`;
      return premium
        ? 'You are not connected. Send an invitation to connect, or send an InMail.'
        : 'You are not connected. Send an invitation to connect first.';
    case 'blocked': return 'You cannot message this member.';
    case 'member_not_found': return 'No member with that handle.';
    case 'cannot_message_self': return 'That is you.';
    case 'premium_required': return 'InMail is for Premium members. Send an invitation to connect instead.';
    case 'inmail_pending': return `You already sent ${name} an InMail; wait for an answer.`;
    case 'no_inmail_credits': return 'You have no InMail credits left this month.';
    case 'group_message_limit': return 'You have reached this month’s limit of new conversations with group members.';
    case 'too_many_recipients': return 'A message can go to at most 50 people.';
    default: return null;
  }
}

const TITLES = {
  connection_required: (name) => `You are not connected with ${name}`,
  blocked: (name) => `You can’t message ${name}`,
  no_inmail_credits: () => 'No InMail credits left',
  member_not_found: () => 'No member with that handle',
};

export async function openCompose(app, prefill = {}) {
  document.getElementById('compose-dialog')?.remove();
  const opener = document.activeElement;
  const maxRecipients = (await limits()).max_recipients || 50;

  const recipients = []; // [{member, state: 'checking'|'ok'|'refused', code}]
  const known = new Map(); // handle -> member
  const chipList = h('ul', { class: 'recipient-chips', 'aria-label': 'Recipients', 'data-testid': 'recipients' });
  const suggestions = h('ul', { id: 'compose-suggestions', class: 'suggestions', role: 'listbox', 'aria-label': 'People', hidden: true });
  const toInput = h('input', {
    id: 'compose-to', name: 'to', class: 'input recipient-input', role: 'combobox', 'aria-autocomplete': 'list',
    'aria-expanded': 'false', 'aria-controls': 'compose-suggestions', autocomplete: 'off', autocapitalize: 'off',
    spellcheck: 'false', placeholder: 'Name or handle', 'aria-describedby': 'compose-to-hint',
  });
  const recipientCard = h('div', { class: 'recipient-card', hidden: true, 'data-testid': 'compose-recipient' });
  const subjectInput = h('input', { id: 'compose-subject', name: 'subject', class: 'input', maxlength: '200' });
  const subjectField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'compose-subject' }, 'Subject'), subjectInput);
  const bodyInput = h('textarea', { id: 'compose-body', name: 'body', class: 'input', rows: '5', required: true, maxlength: '8000' });
  bodyInput.value = prefill.body || '';
  const counter = attachCounter(bodyInput, 8000);
  const inmailBanner = h('p', { class: 'inmail-banner', hidden: true, 'data-testid': 'inmail-credits' });
  // Starting a conversation with a fellow group member spends one of the month's few (DESIGN §2).
  const groupQuota = h('p', { class: 'hint muted', hidden: true, 'data-testid': 'compose-group-quota' });
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
      h('div', { class: 'recipient-box' }, chipList, toInput),
      suggestions,
      h('p', { class: 'hint muted', id: 'compose-to-hint' }, app.isPremium()
        ? `Type a name or handle, then Enter. Up to ${maxRecipients} people; or anyone by InMail (${credits(app.credits)}).`
        : `Type a name or handle, then Enter. Up to ${maxRecipients} of your connections.`),
      recipientCard,
      groupQuota,
    ),
    inmailBanner,
    subjectField,
    h('div', { class: 'field' }, h('label', { for: 'compose-body' }, 'Message'), bodyInput,
      h('div', { class: 'compose-foot' }, h('p', { class: 'hint muted' }, 'Ctrl+Enter to send'), counter.el)),
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

  const remember = (m) => { if (m?.handle && m.id !== app.me.id) known.set(m.handle, m); };
  let connections = [];
  api.connections().then((res) => { connections = res.connections; connections.forEach(remember); }).catch(() => {});

  const nameOf = (r) => r.member.name || r.member.handle;
  const several = () => recipients.length > 1;

  // ---- chips -------------------------------------------------------------------------

  function renderChips() {
    clear(chipList);
    for (const r of recipients) {
      const name = nameOf(r);
      const words = r.state === 'refused' ? refusalWords(r.code, name, { several: several(), premium: app.isPremium() }) : null;
      const problemId = `chip-problem-${r.member.handle}`;
      chipList.append(h('li', {
        class: `recipient-chip is-${r.state}`, dataset: { testid: 'recipient', handle: r.member.handle },
      },
        avatar(r.member, 'xs'),
        h('span', { class: 'chip-name' }, name),
        h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `Remove ${name}`, title: `Remove ${name}`,
          'aria-describedby': words ? problemId : null, onclick: () => removeRecipient(r),
        }, icon('close')),
        words ? h('span', { class: 'chip-problem', id: problemId, dataset: { testid: 'recipient-problem' } }, words) : null));
    }
    toInput.placeholder = recipients.length ? 'Add another' : 'Name or handle';
    renderCard();
  }

  function renderCard() {
    const only = recipients.length === 1 ? recipients[0].member : null;
    recipientCard.hidden = !only;
    if (!only) return;
    clear(recipientCard).append(
      avatar(only, 'sm'),
      h('div', {},
        h('p', { class: 'strong' }, only.name, ' ', h('span', { class: 'degree' }, DEGREE[only.degree] ? `· ${DEGREE[only.degree]}` : '')),
        headlineOf(only) ? h('p', { class: 'muted' }, headlineOf(only)) : h('p', { class: 'muted' }, `@${only.handle}`)),
    );
  }

  let checkSerial = 0;
  async function check() {
    const serial = ++checkSerial;
    if (!recipients.length) return;
    try {
      const res = await api.checkRecipients(recipients.map((r) => r.member.handle));
      if (serial !== checkSerial) return;
      const byHandle = new Map(res.recipients.map((a) => [a.handle, a]));
      for (const r of recipients) {
        const a = byHandle.get(r.member.handle);
        r.state = !a ? 'checking' : a.ok ? 'ok' : 'refused';
        r.code = a?.code || null;
      }
      // One recipient: the refusal is explained below with what can be done about it.
      if (recipients.length === 1 && recipients[0].state === 'refused') recipients[0].state = 'ok';
      renderChips();
      showGroupQuota(recipients.length === 1 && res.recipients.some((a) => a.ok && a.kind === 'group_member'), serial);
    } catch { /* the send will say */ }
  }

  async function showGroupQuota(applies, serial) {
    if (!applies) { groupQuota.hidden = true; return; }
    try {
      const { group_messages: quota } = await api.me();
      if (serial !== checkSerial) return;
      groupQuota.textContent = quotaText(quota);
      groupQuota.hidden = !quota;
    } catch { groupQuota.hidden = true; }
  }

  async function addRecipient(member) {
    remember(member);
    problem.hidden = true;
    if (inmail) setInmail(false);
    if (recipients.some((r) => r.member.handle === member.handle)) { toInput.value = ''; closeSuggestions(); return; }
    if (recipients.length >= maxRecipients) { toast(`A message can go to at most ${maxRecipients} people.`); return; }
    if (member.id === app.me.id) { toast('That is you.'); return; }
    const entry = { member, state: 'checking', code: null };
    recipients.push(entry);
    toInput.value = '';
    closeSuggestions();
    renderChips();
    toInput.focus();
    api.member(member.handle).then(({ degree }) => { entry.member = { ...entry.member, degree }; renderChips(); }).catch(() => {});
    await check();
  }

  function removeRecipient(r) {
    const i = recipients.indexOf(r);
    if (i >= 0) recipients.splice(i, 1);
    if (!recipients.length) groupQuota.hidden = true;
    problem.hidden = true;
    if (inmail && recipients.length !== 1) setInmail(false);
    renderChips();
    toInput.focus();
    check();
  }

  // ---- suggestions (combobox with a listbox) -----------------------------------------

  let options = [];
  let active = -1;
  const typed = () => toInput.value.trim().replace(/^@/, '');

  function closeSuggestions() {
    suggestions.hidden = true;
    toInput.setAttribute('aria-expanded', 'false');
    toInput.removeAttribute('aria-activedescendant');
    options = [];
    active = -1;
  }

  function showSuggestions(list) {
    clear(suggestions);
    options = list.slice(0, 8);
    active = options.length ? 0 : -1;
    options.forEach((m, i) => {
      suggestions.append(h('li', {
        id: `suggestion-${i}`, role: 'option', class: 'suggestion', 'aria-selected': i === active ? 'true' : 'false',
        onmousedown: (e) => { e.preventDefault(); addRecipient(m); },
      }, avatar(m, 'sm'), h('span', { class: 'suggestion-main' },
        h('span', { class: 'strong' }, m.name), h('span', { class: 'muted' }, headlineOf(m) ? `@${m.handle} · ${headlineOf(m)}` : `@${m.handle}`))));
    });
    suggestions.hidden = !options.length;
    toInput.setAttribute('aria-expanded', options.length ? 'true' : 'false');
    markActive();
  }

  function markActive() {
    [...suggestions.children].forEach((el, i) => el.setAttribute('aria-selected', i === active ? 'true' : 'false'));
    if (active >= 0) toInput.setAttribute('aria-activedescendant', `suggestion-${active}`);
    else toInput.removeAttribute('aria-activedescendant');
  }

  const matches = (m, text) => {
    const t = text.toLowerCase();
    return m.handle.toLowerCase().startsWith(t) || (m.name || '').toLowerCase().includes(t);
  };

  let lookupTimer = null;
  function lookUp() {
    clearTimeout(lookupTimer);
    const text = typed();
    if (!text) { closeSuggestions(); return; }
    const taken = new Set(recipients.map((r) => r.member.handle));
    const local = connections.filter((m) => matches(m, text) && !taken.has(m.handle));
    showSuggestions(local);
    lookupTimer = setTimeout(async () => {
      try {
        const { members } = await api.searchMembers(text, 8);
        if (typed() !== text) return;
        members.forEach(remember);
        const seen = new Set(local.map((m) => m.handle));
        showSuggestions([...local, ...members.filter((m) => !seen.has(m.handle) && !taken.has(m.handle) && m.id !== app.me.id)]);
      } catch { /* keep the local ones */ }
    }, 200);
  }

  /** Whatever is typed, as a member: the highlighted suggestion, or a handle looked up. */
  async function resolveTyped() {
    const text = typed();
    if (!text) return null;
    if (active >= 0 && options[active]) return options[active];
    if (known.has(text.toLowerCase())) return known.get(text.toLowerCase());
    try {
      const { member, degree } = await api.member(text);
      return { ...member, degree };
    } catch {
      try {
        const { members } = await api.searchMembers(text, 2);
        if (members.length === 1) return members[0];
      } catch { /* fall through */ }
      // A handle we cannot see (unknown, or hidden by a block): the server's check says which.
      return /^@?[A-Za-z0-9_.-]{3,30}$/.test(text) ? { id: null, handle: text.toLowerCase(), name: text } : null;
    }
  }

  async function commitTyped() {
    const text = typed();
    const member = await resolveTyped();
    if (member) { await addRecipient(member); return true; }
    if (text) {
      clear(problem).append(h('p', { class: 'problem-title' }, `No member called “${text}”`),
        h('p', { class: 'problem-text' }, 'Check the spelling, or type their handle.'));
      problem.hidden = false;
    }
    return false;
  }

  toInput.addEventListener('input', () => { problem.hidden = true; lookUp(); });
  toInput.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && options.length) { e.preventDefault(); active = (active + 1) % options.length; markActive(); }
    else if (e.key === 'ArrowUp' && options.length) { e.preventDefault(); active = (active - 1 + options.length) % options.length; markActive(); }
    else if ((e.key === 'Enter' && !(e.ctrlKey || e.metaKey)) || e.key === ',') {
      if (!typed()) return;
      e.preventDefault();
      commitTyped();
    } else if (e.key === 'Escape' && !suggestions.hidden) { e.preventDefault(); e.stopPropagation(); closeSuggestions(); }
    else if (e.key === 'Backspace' && !toInput.value && recipients.length) { removeRecipient(recipients[recipients.length - 1]); }
  });
  toInput.addEventListener('blur', () => setTimeout(closeSuggestions, 150));

  // ---- InMail and refusals (one recipient) --------------------------------------------

  function setInmail(on) {
    inmail = on;
    subjectField.hidden = !on;
    inmailBanner.hidden = !on;
    const name = recipients[0] ? nameOf(recipients[0]) : 'they';
    clear(inmailBanner).append(
      h('span', { class: 'tag' }, 'InMail'),
      ` ${credits(app.credits)}. Sending this InMail uses one credit; you get it back if ${name} replies within 90 days.`,
    );
    submit.textContent = on ? 'Send InMail' : 'Send';
    counter.setMax(on ? 2000 : 8000); // an InMail body is shorter (DESIGN §2)
    bodyInput.maxLength = on ? 2000 : 8000;
    if (on) subjectInput.focus();
  }

  function showProblem(err) {
    clear(problem);
    delete problem.dataset.kind;
    const one = recipients.length === 1 ? recipients[0] : null;
    const name = one ? nameOf(one) : 'them';
    const title = one ? TITLES[err.code]?.(name) : null;
    if (title) problem.append(h('p', { class: 'problem-title' }, title));
    const words = refusalWords(err.code, name, { several: several(), premium: app.isPremium() })
      || (err.status === 0 ? 'Not sent: cannot reach the server. Your message is still here; try again.' : err.message);
    problem.append(h('p', { class: 'problem-text', 'data-testid': 'server-message' }, words));
    const actions = h('div', { class: 'problem-actions' });
    if (one && err.code === 'connection_required') {
      const inviteBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, `Invite ${name} to connect`);
      inviteBtn.addEventListener('click', async () => {
        inviteBtn.disabled = true;
        try {
          const note = bodyInput.value.trim().slice(0, 300) || undefined;
          await api.invite(one.member.handle, note);
          problem.dataset.kind = 'ok';
          clear(problem).append(
            h('p', { class: 'problem-title' }, 'Invitation sent'),
            h('p', { class: 'problem-text' }, `You can message ${name} once they accept.`),
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

  // ---- sending -------------------------------------------------------------------------

  bodyInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });

  let clientId = newClientId(); // kept across retries of the same draft: the server stores one message
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (typed() && !(await commitTyped())) { toInput.focus(); return; }
    const body = bodyInput.value.trim();
    const missing = !recipients.length ? toInput : !body ? bodyInput : inmail && !subjectInput.value.trim() ? subjectInput : null;
    if (missing) {
      missing.setAttribute('aria-invalid', 'true');
      missing.focus();
      toast(missing === toInput ? 'Choose who to message.' : missing === bodyInput ? 'Write a message first.' : 'An InMail needs a subject.');
      return;
    }
    if (several() && recipients.some((r) => r.state === 'refused')) {
      clear(problem).append(h('p', { class: 'problem-title' }, 'Some people can’t receive this message'),
        h('p', { class: 'problem-text' }, 'Remove the people marked below, then send.'));
      problem.hidden = false;
      chipList.querySelector('.is-refused .chip-remove')?.focus();
      return;
    }
    for (const el of [toInput, bodyInput, subjectInput]) el.removeAttribute('aria-invalid');
    submit.disabled = true;
    problem.hidden = true;
    const payload = { to: recipients.map((r) => r.member.handle), body, client_id: clientId };
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
      if (err.status !== 0) clientId = newClientId(); // refused: nothing was stored under it
      if (err.code === 'connection_required' || err.code === 'no_inmail_credits') {
        try { await app.refreshMe(); } catch { /* keep the old count */ }
      }
      if (inmail && err.code === 'connection_required') setInmail(false);
      if (several()) await check();
      showProblem(err);
    }
  });

  // ---- prefill -------------------------------------------------------------------------

  const prefilled = prefill.to ? (Array.isArray(prefill.to) ? prefill.to : [prefill.to]) : [];
  if (prefilled.length) {
    for (const handle of prefilled) {
      try {
        const { member, degree } = await api.member(handle);
        await addRecipient({ ...member, degree });
      } catch { toInput.value = handle; }
    }
    bodyInput.focus();
  } else {
    toInput.focus();
  }
}
