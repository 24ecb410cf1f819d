// Insights: the member's own engagement figures (sent, read and reply rates, medians), a
// weekly chart of sent / read / replied drawn as SVG through the DOM (with a table of the
// same numbers), and the follow-up assistant: threads waiting for a reply, with advice,
// a link to each thread and a Dismiss button. Only reads the reader let the member see
// count; the server decides that (GET /api/v1/me/insights).

import { request } from '../api.js';
import { h, clear, avatar, shortTime, fullTime, toast } from '../dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const PERIODS = [4, 12, 26, 52];
const SERIES = [
  { key: 'sent', label: 'Sent', color: '#0a66c2' },
  { key: 'read', label: 'Read', color: '#057642' },
  { key: 'replied', label: 'Replied', color: '#915907' },
];
const weekFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

const insightsApi = {
  insights: (weeks) => request('GET', `/me/insights?weeks=${encodeURIComponent(weeks)}`),
  followUps: () => request('GET', '/me/follow-ups'),
  dismiss: (id) => request('POST', `/me/follow-ups/${encodeURIComponent(id)}/dismiss`),
};

let styled = false;
function ensureStyles() {
  // This page's rules live beside it, so the shared app.css stays untouched.
  if (styled) return;
  styled = true;
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/css/insights.css' }));
}

export function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${Math.round(rate * 100)}%`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(seconds < 36000 ? 1 : 0)} h`;
  return `${(seconds / 86400).toFixed(seconds < 864000 ? 1 : 0)} d`;
}

const weekLabel = (iso) => weekFmt.format(new Date(`${iso}T00:00:00Z`));

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function chart(weeks) {
  const width = 720;
  const height = 240;
  const pad = { top: 12, right: 8, bottom: 28, left: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = Math.max(1, ...weeks.map((w) => w.sent), ...weeks.map((w) => w.read), ...weeks.map((w) => w.replied));
  const step = plotW / Math.max(1, weeks.length);
  const barW = Math.max(2, Math.min(18, (step - 6) / SERIES.length));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const total = weeks.reduce((n, w) => n + w.sent, 0);
  const root = svg('svg', {
    class: 'insight-chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': 'insight-chart-title insight-chart-desc', 'data-testid': 'insight-chart',
  },
  svg('title', { id: 'insight-chart-title' }, 'Messages sent, read and replied to, per week'),
  svg('desc', { id: 'insight-chart-desc' },
    `${weeks.length} weeks from ${weeks.length ? weekLabel(weeks[0].week) : '—'}; ${total} messages sent in all. The table below gives every number.`));
  for (const tick of [0, 0.5, 1]) {
    const value = Math.round(top * tick);
    root.append(
      svg('line', { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: 'grid' }),
      svg('text', { x: pad.left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' }, value),
    );
  }
  weeks.forEach((w, i) => {
    const x0 = pad.left + i * step + (step - barW * SERIES.length) / 2;
    SERIES.forEach((s, k) => {
      const v = w[s.key];
      root.append(svg('rect', {
        x: x0 + k * barW, y: y(v), width: barW - 1, height: Math.max(0, pad.top + plotH - y(v)), fill: s.color,
        'data-series': s.key, 'data-week': w.week,
      }, svg('title', {}, `Week of ${weekLabel(w.week)}: ${v} ${s.label.toLowerCase()}`)));
    });
    const every = Math.ceil(weeks.length / 12);
    if (i % every === 0) {
      root.append(svg('text', { x: pad.left + i * step + step / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, weekLabel(w.week)));
    }
  });
  return root;
}

function table(weeks) {
  return h('table', { class: 'insight-table', 'data-testid': 'insight-table' },
    h('caption', { class: 'sr-only' }, 'Messages per week'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Week of'), SERIES.map((s) => h('th', { scope: 'col' }, s.label)))),
    h('tbody', {}, weeks.map((w) => h('tr', {},
      h('th', { scope: 'row' }, weekLabel(w.week)),
      SERIES.map((s) => h('td', {}, String(w[s.key])))))),
  );
}

function stat(label, value, testid, hint) {
  return h('div', { class: 'insight-stat' },
    h('dt', {}, label),
    h('dd', { 'data-testid': testid }, value),
    hint ? h('dd', { class: 'muted insight-hint' }, hint) : null);
}

export function renderInsights(main, app) {
  ensureStyles();
  let weeks = 12;
  const stats = h('dl', { class: 'insight-stats', 'aria-live': 'polite' });
  const chartBox = h('div', { class: 'insight-chart-box' });
  const followList = h('ul', { class: 'inv-list follow-ups', 'data-testid': 'follow-ups', 'aria-live': 'polite' });
  const period = h('select', { id: 'insight-period', class: 'input insight-period' },
    PERIODS.map((n) => h('option', { value: String(n), selected: n === weeks }, `Last ${n} weeks`)));
  period.addEventListener('change', () => { weeks = Number(period.value); loadInsight(); });

  async function loadInsight() {
    const asked = weeks;
    try {
      const data = await insightsApi.insights(asked);
      if (asked !== weeks || !stats.isConnected) return;
      clear(stats).append(
        stat('Messages sent', String(data.sent), 'insight-sent'),
        stat('Conversations started', String(data.conversations_started), 'insight-started'),
        stat('Read rate', percent(data.read_rate), 'insight-read-rate', `${data.read} of ${data.sent} seen as read`),
        stat('Reply rate', percent(data.reply_rate), 'insight-reply-rate', `${data.replied} of ${data.sent} answered`),
        stat('Median time to read', duration(data.median_seconds_to_read), 'insight-time-to-read'),
        stat('Median time to reply', duration(data.median_seconds_to_reply), 'insight-time-to-reply'),
      );
      const legend = h('ul', { class: 'insight-legend', 'aria-hidden': 'true' },
        SERIES.map((s) => h('li', {}, h('span', { class: 'swatch', dataset: { series: s.key } }), s.label)));
      clear(chartBox).append(legend, chart(data.weeks),
        h('details', { class: 'insight-details' }, h('summary', {}, 'Show the numbers as a table'), table(data.weeks)));
    } catch (err) {
      clear(stats).append(h('p', { class: 'form-error', role: 'alert' }, err.message));
    }
  }

  async function dismiss(item, name) {
    try {
      await insightsApi.dismiss(item.conversation_id);
      toast(`Dismissed the follow-up with ${name}.`);
      loadFollowUps();
    } catch (err) {
      toast(err.message);
    }
  }

  async function loadFollowUps() {
    try {
      const { follow_ups: items } = await insightsApi.followUps();
      if (!followList.isConnected) return;
      clear(followList);
      if (!items.length) {
        followList.append(h('li', { class: 'muted empty' }, 'Nothing to follow up on: every conversation you wrote last has had a reply, or not waited long enough yet.'));
        return;
      }
      for (const item of items) {
        const name = item.member.name || item.member.handle;
        const stop = item.advice === 'stop';
        followList.append(h('li', { class: 'inv-item follow-up', dataset: { id: item.conversation_id, advice: item.advice } },
          avatar(item.member, 'md'),
          h('div', { class: 'inv-main' },
            h('p', { class: 'strong' },
              h('a', { href: `#/c/${encodeURIComponent(item.conversation_id)}` }, name),
              h('span', { class: `tag advice-${item.advice}` }, stop ? 'Time to stop' : 'Follow up')),
            h('p', { class: 'muted' },
              `${item.unanswered} unanswered message${item.unanswered === 1 ? '' : 's'} · last sent `,
              h('time', { datetime: item.last_sent_at, title: fullTime(item.last_sent_at) }, shortTime(item.last_sent_at))),
            h('p', { class: 'advice' }, item.advice_text),
          ),
          h('div', { class: 'inv-actions' },
            stop ? null : h('a', { class: 'btn btn-secondary btn-small', href: `#/c/${encodeURIComponent(item.conversation_id)}`, 'aria-label': `Follow up with ${name}` }, 'Follow up'),
            h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': `Dismiss follow-up with ${name}`, onclick: () => dismiss(item, name) }, 'Dismiss')),
        ));
      }
    } catch (err) {
      clear(followList).append(h('li', { class: 'form-error', role: 'alert' }, err.message));
    }
  }

  clear(main).append(h('div', { class: 'page insights' },
    h('h1', {}, 'Insights'),
    h('section', { class: 'card', 'aria-labelledby': 'insight-title' },
      h('div', { class: 'insight-head' },
        h('h2', { id: 'insight-title' }, 'Your messages'),
        h('label', { for: 'insight-period', class: 'sr-only' }, 'Period of the weekly chart'),
        period),
      h('p', { class: 'muted' }, 'Only reads that people let you see count: none in group chats, InMail or sponsored messages, and none while either of you, or the network, has read receipts off.'),
      stats,
      chartBox),
    h('section', { class: 'card', 'aria-labelledby': 'follow-title' },
      h('h2', { id: 'follow-title' }, 'Follow-ups'),
      h('p', { class: 'muted' }, 'Conversations where your last message is still waiting for a reply.'),
      followList),
  ));
  loadInsight();
  loadFollowUps();
  const offLive = app.onLive((ev) => {
    if (!followList.isConnected) { offLive(); return; }
    if (ev.type === 'message.new') loadFollowUps();
  });
}
