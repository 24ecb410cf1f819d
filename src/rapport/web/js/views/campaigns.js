// The advertiser console: campaigns as drafts (with a live preview of the message as a member
// will see it), the audience size, launch, delivery progress while it runs, and the funnel
// (sent, opened, clicked, leads — counts only) as an SVG chart, with the leads table and its
// CSV download. Routes: #/campaigns (list), #/campaigns/new, #/campaigns/<id>.

import { request, auth, ApiError } from '../api.js';
import { h, clear, fullTime, toast, announce } from '../dom.js';
import { confirmDialog } from './dialogs.js';
import { renderSponsored, ensureSponsoredStyles } from './sponsored.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const PROFILE_FIELDS = [['name', 'Name'], ['headline', 'Headline'], ['industry', 'Industry'], ['location', 'Location'], ['email', 'Email']];
const TIERS = [['free', 'Free'], ['premium_career', 'Premium Career'], ['premium_business', 'Premium Business']];
const LIMITS = { name: 100, subject: 60, body: 1500, label: 20 };
const POLL_MS = 1000;

export const campaignsApi = {
  list: () => request('GET', '/campaigns'),
  get: (id) => request('GET', `/campaigns/${encodeURIComponent(id)}`),
  create: (body) => request('POST', '/campaigns', body),
  launch: (id) => request('POST', `/campaigns/${encodeURIComponent(id)}/launch`),
  leads: (id) => request('GET', `/campaigns/${encodeURIComponent(id)}/leads`),
};

/** Show the nav link only to advertisers (a member who is not one gets 403 from the list). */
export async function revealCampaignsLink(link) {
  try {
    await campaignsApi.list();
    link.hidden = false;
  } catch { link.hidden = true; }
}

let poller = null;
function stopPolling() {
  clearTimeout(poller);
  poller = null;
}

export function renderCampaigns(main, app, hash) {
  ensureSponsoredStyles();
  stopPolling();
  const page = h('div', { class: 'campaigns-page' });
  main.append(page);
  const id = hash.match(/^#\/campaigns\/([^/?]+)/)?.[1];
  if (id === 'new') editor(page, app);
  else if (id) detail(page, app, id);
  else list(page);
  // Leaving the page stops the progress polling.
  window.addEventListener('hashchange', stopPolling, { once: true });
}

function notAdvertiser(page) {
  clear(page).append(
    h('h1', {}, 'Campaigns'),
    h('p', {}, 'Campaigns are for advertiser accounts. The operator of this network can make your account one.'),
  );
}

async function list(page) {
  clear(page).append(h('h1', {}, 'Campaigns'), h('p', { class: 'muted' }, 'Loading…'));
  let campaigns;
  try {
    ({ campaigns } = await campaignsApi.list());
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return notAdvertiser(page);
    clear(page).append(h('h1', {}, 'Campaigns'), h('p', { role: 'alert' }, err.message));
    return;
  }
  const items = campaigns.map((c) => h('li', { class: 'campaign-item', dataset: { testid: 'campaign-item' } },
    h('div', {},
      h('a', { href: `#/campaigns/${c.id}`, class: 'strong' }, c.name),
      h('p', { class: 'muted' }, `${c.subject} · created ${fullTime(c.created_at)}`)),
    h('div', {},
      h('span', { class: 'campaign-state', dataset: { state: c.state } }, c.state),
      ' ',
      h('span', { class: 'muted' }, c.state === 'draft' ? `${c.audience_size} in audience` : `${c.delivered} of ${c.audience_size} delivered`))));
  clear(page).append(
    h('div', { class: 'campaigns-head' },
      h('h1', {}, 'Campaigns'),
      h('a', { href: '#/campaigns/new', class: 'btn btn-primary' }, 'New campaign')),
    campaigns.length ? h('ul', { class: 'campaign-list', 'aria-label': 'Your campaigns' }, ...items)
      : h('p', { class: 'muted' }, 'No campaigns yet. Create one to reach members by industry, location, tier or headline.'),
  );
}

// ---- the draft editor, with its preview --------------------------------------------------

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

const splitList = (text) => text.split(',').map((v) => v.trim()).filter(Boolean);

function editor(page, app) {
  const name = h('input', { class: 'input', maxlength: String(LIMITS.name), required: true });
  const subject = h('input', { class: 'input', maxlength: String(LIMITS.subject), required: true });
  const body = h('textarea', { class: 'input', rows: '5', maxlength: String(LIMITS.body), required: true });
  const buttonRows = [0, 1].map((i) => ({
    label: h('input', { class: 'input', maxlength: String(LIMITS.label) }),
    url: h('input', { class: 'input', type: 'url', placeholder: 'https://', inputmode: 'url' }),
    i,
  }));
  const banner = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  let bannerId = null;
  let bannerUrl = null;
  const bannerNote = h('p', { class: 'hint', role: 'status' });
  const profileChecks = PROFILE_FIELDS.map(([f, label]) => h('label', {}, h('input', { type: 'checkbox', value: f }), label));
  const questions = h('textarea', { class: 'input', rows: '3', placeholder: 'One question per line' });
  const industries = h('input', { class: 'input', placeholder: 'Software, Banking' });
  const locations = h('input', { class: 'input', placeholder: 'Berlin, Lisbon' });
  const tierChecks = TIERS.map(([t, label]) => h('label', {}, h('input', { type: 'checkbox', value: t }), label));
  const keywords = h('input', { class: 'input', placeholder: 'python, product' });
  const problem = h('p', { class: 'campaign-problem', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save draft');
  const preview = h('div', { class: 'campaign-preview-body' });

  const draft = () => {
    const fields = profileChecks.map((l) => l.querySelector('input')).filter((c) => c.checked).map((c) => c.value);
    const qs = questions.value.split('\n').map((q) => q.trim()).filter(Boolean).map((label, i) => ({ id: `q${i + 1}`, label }));
    const tiers = tierChecks.map((l) => l.querySelector('input')).filter((c) => c.checked).map((c) => c.value);
    return {
      name: name.value,
      subject: subject.value,
      body: body.value,
      banner_attachment: bannerId,
      buttons: buttonRows.filter((b) => b.label.value.trim() || b.url.value.trim()).map((b) => ({ label: b.label.value, url: b.url.value })),
      lead_form: fields.length || qs.length ? { profile_fields: fields, questions: qs } : null,
      audience: { industries: splitList(industries.value), locations: splitList(locations.value), tiers, headline_keywords: splitList(keywords.value) },
    };
  };

  const drawPreview = () => {
    const d = draft();
    const prefill = { name: app.me.name, headline: app.me.headline, industry: app.me.industry, location: app.me.location, email: 'you@example.com' };
    const message = {
      sender: app.me,
      sponsored: {
        advertiser: app.me,
        banner_url: bannerUrl,
        buttons: d.buttons.map((b, i) => ({ id: String(i + 1), label: b.label || 'Button' })),
        lead_form: d.lead_form ? { ...d.lead_form, questions: d.lead_form.questions.map((q) => ({ ...q, required: true })), prefill } : null,
      },
    };
    clear(preview).append(
      h('p', { class: 'strong' }, d.subject || 'Subject'),
      renderSponsored(message, null, { preview: true, body: d.body || 'Your message' }),
    );
  };

  banner.addEventListener('change', async () => {
    const file = banner.files?.[0];
    if (!file) return;
    bannerNote.textContent = 'Uploading…';
    try {
      const form = new FormData();
      form.append('file', file, file.name);
      const res = await fetch('/api/v1/attachments', { method: 'POST', body: form, headers: { Authorization: `Bearer ${auth.token}` } });
      const data = await res.json();
      if (!res.ok) throw new Error(data?.error?.message || 'Upload refused.');
      bannerId = data.attachment.id;
      bannerUrl = URL.createObjectURL(file);
      bannerNote.textContent = `Banner: ${file.name}`;
      drawPreview();
    } catch (err) {
      bannerNote.textContent = err.message;
    }
  });

  const form = h('form', { class: 'campaign-form', 'aria-label': 'New campaign', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Message'),
      field('campaign-name', 'Campaign name (only you see it)', name),
      field('campaign-subject', `Subject (at most ${LIMITS.subject} characters)`, subject),
      field('campaign-body', `Message (at most ${LIMITS.body.toLocaleString()} characters)`, body),
      field('campaign-banner', 'Banner image (optional)', banner),
      bannerNote),
    h('fieldset', {}, h('legend', {}, 'Buttons'),
      ...buttonRows.map((b) => h('div', { class: 'row' },
        field(`campaign-button-${b.i + 1}-label`, `Button ${b.i + 1} label${b.i ? ' (optional)' : ''}`, b.label),
        field(`campaign-button-${b.i + 1}-url`, `Button ${b.i + 1} link (https)`, b.url)))),
    h('fieldset', {}, h('legend', {}, 'Lead form (optional)'),
      h('p', { class: 'hint' }, 'Profile fields are filled in from the member’s profile; they can change them before sending.'),
      h('div', { class: 'checks', role: 'group', 'aria-label': 'Profile fields' }, ...profileChecks),
      field('campaign-questions', 'Your questions', questions)),
    h('fieldset', {}, h('legend', {}, 'Audience (empty: every member)'),
      field('campaign-industries', 'Industries (comma separated)', industries),
      field('campaign-locations', 'Locations (comma separated)', locations),
      h('div', { class: 'checks', role: 'group', 'aria-label': 'Tiers' }, ...tierChecks),
      field('campaign-keywords', 'Headline keywords (comma separated)', keywords)),
    problem,
    h('div', { class: 'dialog-actions' }, h('a', { href: '#/campaigns', class: 'btn btn-ghost' }, 'Cancel'), save),
  );
  form.addEventListener('input', drawPreview);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    problem.hidden = true;
    try {
      const { campaign } = await campaignsApi.create(draft());
      announce(`Draft saved. ${campaign.audience_size} members in the audience.`);
      app.navigate(`#/campaigns/${campaign.id}`);
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
      save.disabled = false;
    }
  });
  clear(page).append(
    h('h1', {}, 'New campaign'),
    h('div', { class: 'campaign-editor' },
      form,
      h('aside', { class: 'campaign-preview', 'aria-label': 'Preview' },
        h('h2', {}, 'Preview'),
        h('p', { class: 'hint' }, 'As a member will see it in their inbox.'),
        preview)),
  );
  drawPreview();
  name.focus();
}

// ---- one campaign: progress, funnel, leads -------------------------------------------------

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The funnel as horizontal bars, each a share of `sent`; the numbers are also in the text. */
export function funnelChart(stats) {
  const steps = [['Sent', stats.sent], ['Opened', stats.opened], ['Clicked', stats.clicked], ['Leads', stats.leads]];
  const width = 640;
  const rowH = 40;
  const labelW = 90;
  const valueW = 90;
  const plotW = width - labelW - valueW;
  const top = Math.max(1, stats.sent);
  const chart = svg('svg', {
    class: 'funnel', viewBox: `0 0 ${width} ${rowH * steps.length}`, role: 'img',
    'aria-labelledby': 'funnel-title', 'data-testid': 'funnel',
  }, svg('title', { id: 'funnel-title' }, `Funnel: ${steps.map(([l, v]) => `${v} ${l.toLowerCase()}`).join(', ')}`));
  steps.forEach(([label, value], i) => {
    const y = i * rowH;
    const share = stats.sent ? Math.round((value / stats.sent) * 100) : 0;
    chart.append(
      svg('text', { x: 0, y: y + rowH / 2 + 5, class: 'label' }, label),
      svg('rect', { x: labelW, y: y + 8, width: Math.max(2, (value / top) * plotW), height: rowH - 16, rx: 4, class: 'bar', 'data-step': label.toLowerCase() }),
      svg('text', { x: width - valueW + 8, y: y + rowH / 2 + 5, class: 'value' }, `${value}${i ? ` (${share}%)` : ''}`),
    );
  });
  return chart;
}

async function downloadCsv(id, name) {
  try {
    const res = await fetch(`/api/v1/campaigns/${encodeURIComponent(id)}/leads?format=csv`, { headers: { Authorization: `Bearer ${auth.token}` } });
    if (!res.ok) throw new Error('The leads could not be downloaded.');
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `${name.replace(/[^\w.-]+/g, '-') || 'campaign'}-leads.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) { toast(err.message); }
}

async function detail(page, app, id) {
  let data;
  try {
    data = await campaignsApi.get(id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return notAdvertiser(page);
    clear(page).append(h('h1', {}, 'Campaign'), h('p', { role: 'alert' }, err.status === 404 ? 'No such campaign.' : err.message));
    return;
  }
  const heading = h('h1', { tabindex: '-1' }, data.campaign.name);
  const state = h('span', { class: 'campaign-state', dataset: { state: data.campaign.state, testid: 'campaign-state' } });
  const facts = h('dl', { class: 'campaign-facts' });
  const progress = h('progress', { class: 'campaign-progress', max: '1', value: '0', 'aria-label': 'Delivery progress' });
  const progressText = h('p', { class: 'muted', role: 'status', dataset: { testid: 'campaign-progress' } });
  const launchBtn = h('button', { type: 'button', class: 'btn btn-primary' }, 'Launch');
  const funnel = h('div', {});
  const leadsBox = h('div', { class: 'leads-wrap' });
  const csv = h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => downloadCsv(id, data.campaign.name) }, 'Download leads (CSV)');
  const preview = h('div', {});

  const fact = (label, value, testid) => h('div', { class: 'campaign-fact' }, h('dt', {}, label), h('dd', { dataset: { testid } }, String(value)));

  const draw = async () => {
    const c = data.campaign;
    state.dataset.state = c.state;
    state.textContent = c.state;
    launchBtn.hidden = c.state !== 'draft';
    clear(facts).append(
      fact('Audience', c.audience_size, 'campaign-audience'),
      fact('Delivered', c.delivered, 'campaign-delivered'),
      fact('Skipped', c.skipped, 'campaign-skipped'),
    );
    const done = c.delivered + c.skipped;
    progress.max = String(Math.max(1, c.audience_size));
    progress.value = String(Math.min(done, c.audience_size));
    progress.hidden = c.state === 'draft';
    progressText.textContent = c.state === 'draft'
      ? `${c.audience_size} members match this audience. Members who opted out, got a sponsored message recently or blocked you will be skipped.`
      : c.state === 'sending' ? `Sending: ${c.delivered} delivered, ${c.skipped} skipped of ${c.audience_size}…`
        : `Sent: ${c.delivered} delivered, ${c.skipped} skipped.`;
    clear(funnel).append(h('h2', {}, 'Funnel'),
      h('p', { class: 'hint' }, 'Counts only: who opened or clicked is never shown. Leads are members who chose to send you their details.'),
      funnelChart(data.stats));
    clear(preview).append(h('h2', {}, 'Preview'), h('p', { class: 'strong' }, c.subject), renderSponsored({
      sender: app.me,
      sponsored: {
        advertiser: app.me, banner_url: c.banner_url ? `${c.banner_url}?token=${encodeURIComponent(auth.token)}` : null,
        buttons: c.buttons.map((b) => ({ id: b.id, label: b.label })),
        lead_form: c.lead_form ? { ...c.lead_form, prefill: {} } : null,
      },
    }, null, { preview: true, body: c.body }));
    if (c.state !== 'draft') await drawLeads();
  };

  const drawLeads = async () => {
    const form = data.campaign.lead_form;
    if (!form) { clear(leadsBox); csv.hidden = true; return; }
    const { leads } = await campaignsApi.leads(id);
    const columns = [...form.profile_fields, ...form.questions.map((q) => q.id)];
    const labels = { ...Object.fromEntries(PROFILE_FIELDS), ...Object.fromEntries(form.questions.map((q) => [q.id, q.label])) };
    csv.hidden = leads.length === 0;
    clear(leadsBox).append(h('h2', {}, `Leads (${leads.length})`), leads.length
      ? h('table', { class: 'leads-table', dataset: { testid: 'leads-table' } },
        h('caption', { class: 'sr-only' }, 'Leads'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Member'), ...columns.map((col) => h('th', { scope: 'col' }, labels[col] || col)), h('th', { scope: 'col' }, 'Sent'))),
        h('tbody', {}, ...leads.map((l) => h('tr', {},
          h('td', {}, l.member ? `${l.member.name} (@${l.member.handle})` : 'Deleted member'),
          ...columns.map((col) => h('td', {}, l.answers[col] || '')),
          h('td', {}, fullTime(l.submitted_at))))))
      : h('p', { class: 'muted' }, 'No leads yet.'));
  };

  const refresh = async () => {
    try {
      data = await campaignsApi.get(id);
      await draw();
    } catch { /* the next poll tries again */ }
    if (data.campaign.state === 'sending' && page.isConnected) poller = setTimeout(refresh, POLL_MS);
  };

  launchBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Launch this campaign?',
      text: `It goes to up to ${data.campaign.audience_size} members. A launched campaign cannot be changed or sent again.`,
      confirm: 'Launch',
    });
    if (!ok) return;
    try {
      const { campaign } = await campaignsApi.launch(id);
      data.campaign = campaign;
      announce('Campaign launched.');
      await draw();
      stopPolling();
      poller = setTimeout(refresh, POLL_MS);
    } catch (err) { toast(err.message); }
  });

  clear(page).append(
    h('p', {}, h('a', { href: '#/campaigns' }, '← All campaigns')),
    h('div', { class: 'campaigns-head' }, heading, state),
    facts, progress, progressText, launchBtn,
    h('div', { class: 'campaign-editor' }, h('div', {}, funnel, leadsBox, csv), h('aside', { class: 'campaign-preview', 'aria-label': 'Preview' }, preview)),
  );
  await draw();
  heading.focus();
  if (data.campaign.state === 'sending') poller = setTimeout(refresh, POLL_MS);
}
