// A sponsored message as its recipient sees it: the "Sponsored" label, the advertiser, the
// banner, the call-to-action buttons, the lead form (pre-filled from the member's profile,
// editable before sending) and "Not interested". The thread shows no composer: sponsored
// messages take no reply. The advertiser console's preview draws the same card.
//
// A button's URL is not in the message: a click asks the server for it (which is how clicks
// are counted, once per member) and then opens it. Nothing here reports that the message was
// seen beyond the thread's ordinary read, which the advertiser only ever sees as a count.

import { request, auth } from '../api.js';
import { h, clear, avatar, toast } from '../dom.js';

const FIELD_LABELS = { name: 'Name', headline: 'Headline', industry: 'Industry', location: 'Location', email: 'Email' };
const FIELD_TYPES = { email: 'email' };

export const sponsoredApi = {
  click: (conversationId, buttonId) => request('POST', `/conversations/${conversationId}/sponsored/click`, { button_id: buttonId }),
  lead: (conversationId, answers) => request('POST', `/conversations/${conversationId}/sponsored/lead`, { answers }),
  decline: (conversationId) => request('POST', `/conversations/${conversationId}/decline`),
};

let styled = false;
export function ensureSponsoredStyles() {
  // This card's rules live beside it, so the shared app.css stays untouched.
  if (styled) return;
  styled = true;
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/css/sponsored.css' }));
}

function withToken(url) {
  if (!url || !auth.token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(auth.token)}`;
}

/** The thread of a sponsored conversation: no composer, a note saying why. */
export function sponsoredThread(thread) {
  ensureSponsoredStyles();
  for (const el of [thread.form, thread.hint?.parentElement, thread.tray?.el]) if (el) el.hidden = true;
  if (thread.input) thread.input.disabled = true;
  thread.composerNote.textContent = 'Sponsored messages cannot be answered.';
  thread.composerNote.removeAttribute('role');
  thread.composerNote.hidden = false;
}

/**
 * The card for message `m` (with `m.sponsored`). `options.preview`: drawn in the advertiser
 * console, where buttons and the form are shown but do nothing.
 */
export function renderSponsored(m, conversationId, options = {}) {
  ensureSponsoredStyles();
  const s = m.sponsored;
  const preview = !!options.preview;
  const advertiser = s.advertiser || m.sender || {};
  const name = advertiser.name || advertiser.handle || 'Advertiser';
  const card = h('section', { class: 'sponsored-card', 'aria-label': `Sponsored message from ${name}`, dataset: { testid: 'sponsored-card' } });
  const head = h('div', { class: 'sponsored-head' },
    avatar(advertiser, 'sm'),
    h('span', { class: 'sponsored-advertiser' }, name),
    h('span', { class: 'sponsored-label', dataset: { testid: 'sponsored-label' } }, 'Sponsored'));
  card.append(head);
  if (s.banner_url) {
    card.append(h('img', {
      class: 'sponsored-banner', src: preview ? s.banner_url : withToken(s.banner_url),
      alt: `Banner from ${name}`, decoding: 'async', loading: 'lazy',
    }));
  }
  if (options.body) card.append(h('p', { class: 'sponsored-body' }, options.body));
  const status = h('p', { class: 'sponsored-status muted', role: 'status' });
  const buttons = h('div', { class: 'sponsored-buttons' }, ...(s.buttons || []).map((b, i) => h('button', {
    type: 'button', class: `btn ${i === 0 ? 'btn-primary' : 'btn-secondary'}`, dataset: { buttonId: b.id },
    onclick: preview ? null : () => follow(conversationId, b, status),
  }, b.label)));
  card.append(buttons);
  if (s.lead_form) card.append(leadForm(s, name, conversationId, preview));
  if (!preview) {
    const decline = h('button', { type: 'button', class: 'btn btn-ghost btn-small sponsored-decline' }, 'Not interested');
    decline.addEventListener('click', async () => {
      try {
        await sponsoredApi.decline(conversationId);
        s.declined = true;
        decline.replaceWith(h('p', { class: 'muted' }, 'You said you are not interested. This conversation is archived.'));
        toast('Archived: you will not see this message in your inbox.');
      } catch (err) { toast(err.message); }
    });
    card.append(s.declined ? h('p', { class: 'muted' }, 'You said you are not interested.') : decline);
  }
  card.append(status);
  return card;
}

async function follow(conversationId, button, status) {
  // Open the tab now, while the click still counts as the member's gesture; point it once the URL is known.
  const tab = window.open('', '_blank');
  try {
    const { url } = await sponsoredApi.click(conversationId, button.id);
    if (tab) {
      tab.opener = null;
      tab.location.href = url;
    }
    clear(status).append('Opened ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url));
  } catch (err) {
    tab?.close();
    toast(err.message);
  }
}

function leadForm(s, advertiserName, conversationId, preview) {
  const form = s.lead_form;
  const box = h('div', { class: 'sponsored-lead' });
  if (s.lead_submitted) {
    box.append(h('p', { class: 'sponsored-thanks', dataset: { testid: 'lead-thanks' } }, `Thanks — ${advertiserName} has your details.`));
    return box;
  }
  const uid = `lead-${conversationId || 'preview'}`;
  const inputs = new Map();
  const fields = [
    ...form.profile_fields.map((f) => ({ id: f, label: FIELD_LABELS[f] || f, value: form.prefill?.[f] || '', required: true, type: FIELD_TYPES[f] || 'text' })),
    ...form.questions.map((q) => ({ id: q.id, label: q.label, value: '', required: q.required, type: 'text' })),
  ];
  const rows = fields.map((f) => {
    const input = h('input', {
      id: `${uid}-${f.id}`, name: f.id, type: f.type, class: 'input', maxlength: '1000', required: f.required,
      autocomplete: f.id === 'email' ? 'email' : f.id === 'name' ? 'name' : 'off',
    });
    input.value = f.value;
    inputs.set(f.id, input);
    return h('div', { class: 'field' }, h('label', { for: input.id }, f.label + (f.required ? '' : ' (optional)')), input);
  });
  const send = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send my details');
  const problem = h('p', { class: 'sponsored-problem', role: 'alert', hidden: true });
  const el = h('form', { class: 'sponsored-form', 'aria-label': `Details for ${advertiserName}`, novalidate: true },
    h('p', { class: 'muted' }, `Sending shares these details with ${advertiserName}. You can change them first.`),
    ...rows, problem, send);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (preview) return;
    const missing = fields.find((f) => f.required && !inputs.get(f.id).value.trim());
    if (missing) {
      problem.textContent = `${missing.label} is needed.`;
      problem.hidden = false;
      inputs.get(missing.id).focus();
      return;
    }
    const answers = {};
    for (const f of fields) answers[f.id] = inputs.get(f.id).value;
    send.disabled = true;
    try {
      await sponsoredApi.lead(conversationId, answers);
      s.lead_submitted = true;
      box.replaceChildren(h('p', { class: 'sponsored-thanks', dataset: { testid: 'lead-thanks' } }, `Thanks — ${advertiserName} has your details.`));
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
      send.disabled = false;
    }
  });
  box.append(el);
  return box;
}
