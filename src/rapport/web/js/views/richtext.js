// Message text as DOM: plain text, with http(s) links made clickable and long bodies folded.
// Built with text nodes and <a> elements only: user text is never parsed as HTML.

import { h } from '../dom.js';

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'"»”’)\]]+$/;
export const FOLD_CHARS = 700;
export const FOLD_LINES = 12;

/** The link's href if `raw` is an http(s) URL; trailing punctuation stays text. */
function splitUrl(raw) {
  let url = raw;
  let rest = '';
  const trail = url.match(TRAILING);
  if (trail) {
    // Keep a closing parenthesis that closes one opened inside the URL (Wikipedia links).
    let cut = trail[0];
    const opens = (url.match(/\(/g) || []).length;
    const closes = (url.match(/\)/g) || []).length;
    if (cut.startsWith(')') && opens >= closes) cut = cut.replace(/^\)+/, '');
    url = url.slice(0, url.length - cut.length);
    rest = raw.slice(url.length);
  }
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    return { href: parsed.href, text: url, rest };
  } catch {
    return null;
  }
}

/** Text nodes and links for `text`. */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const found = splitUrl(match[0]);
    if (!found) continue;
    if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
    out.push(h('a', { href: found.href, rel: 'noopener noreferrer nofollow', target: '_blank', class: 'msg-link' }, found.text));
    last = match.index + found.text.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

export function isLong(text) {
  return text.length > FOLD_CHARS || text.split('\n').length > FOLD_LINES;
}

/**
 * A message body: links, and when long, folded behind "See more" (and "See less").
 * `expanded` is a Set of message ids that stay unfolded when the list is re-rendered.
 */
export function renderBody(id, text, expanded) {
  const body = h('p', { class: 'msg-body', id: `msg-body-${id}` }, linkify(text));
  if (!isLong(text)) return body;
  const open = expanded.has(id);
  body.classList.toggle('is-folded', !open);
  const toggle = h('button', {
    type: 'button', class: 'see-more', 'aria-expanded': open ? 'true' : 'false', 'aria-controls': body.id,
  }, open ? 'See less' : 'See more');
  toggle.addEventListener('click', () => {
    const now = !expanded.has(id);
    if (now) expanded.add(id); else expanded.delete(id);
    body.classList.toggle('is-folded', !now);
    toggle.setAttribute('aria-expanded', now ? 'true' : 'false');
    toggle.textContent = now ? 'See less' : 'See more';
  });
  return h('div', { class: 'msg-text' }, body, toggle);
}

/** "1,234 characters left", shown once a text is within `warnAt` of the limit (`setMax` changes it). */
export function attachCounter(input, initialMax, warnAt = 1000) {
  let max = initialMax;
  const el = h('p', { class: 'char-count', 'aria-live': 'polite', hidden: true, dataset: { testid: 'char-count' } });
  const update = () => {
    const left = max - input.value.length;
    el.hidden = left > warnAt;
    el.classList.toggle('is-over', left <= 0);
    el.textContent = left >= 0
      ? `${left.toLocaleString()} character${left === 1 ? '' : 's'} left`
      : `${(-left).toLocaleString()} characters over the ${max.toLocaleString()} limit`;
  };
  input.addEventListener('input', update);
  update();
  const setMax = (value) => { max = value; update(); };
  return { el, update, setMax };
}
