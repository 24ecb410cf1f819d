// Reactions under a message: counts per emoji (who reacted in the tooltip), toggled by a click,
// and a "React" control offering the server's small set.

import { limits } from '../api.js';
import { h } from '../dom.js';

let SET = ['👍', '❤️', '😂', '😮', '😢', '👏', '🎉', '💡'];
limits().then((l) => { if (l.reactions?.length) SET = l.reactions; });

export function reactionSet() { return SET; }

function names(handles, app, people) {
  return handles.map((hd) => (hd === app.me.handle ? 'You' : people.get(hd)?.name || hd));
}

/** The chips under a message; `onToggle(emoji, on)` adds or removes the viewer's reaction. */
export function renderReactions(message, app, people, onToggle) {
  const list = message.reactions || [];
  if (!list.length) return null;
  return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    list.map((r) => {
      const mine = r.members.includes(app.me.handle);
      const who = names(r.members, app, people).join(', ');
      return h('button', {
        type: 'button', class: `reaction${mine ? ' is-mine' : ''}`, 'aria-pressed': mine ? 'true' : 'false',
        title: `${who} reacted with ${r.emoji}`, dataset: { testid: 'reaction', emoji: r.emoji },
        'aria-label': `${r.emoji} ${r.count}: ${who}`, onclick: () => onToggle(r.emoji, !mine),
      }, h('span', { 'aria-hidden': 'true' }, r.emoji), h('span', { class: 'reaction-count', 'aria-hidden': 'true' }, String(r.count)));
    }));
}

/** A popover of the reaction set, opened by the message's "React" button; closes on Escape. */
export function openReactionPicker(anchor, message, app, onToggle) {
  document.querySelector('.reaction-picker')?.remove();
  const mineSet = new Set((message.reactions || []).filter((r) => r.members.includes(app.me.handle)).map((r) => r.emoji));
  const picker = h('div', { class: 'reaction-picker', role: 'group', 'aria-label': 'Choose a reaction' });
  const close = (focus = true) => {
    picker.remove();
    anchor.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (focus && anchor.isConnected) anchor.focus();
  };
  const outside = (e) => { if (!picker.contains(e.target) && e.target !== anchor) close(false); };
  const buttons = SET.map((emoji) => h('button', {
    type: 'button', class: `reaction-choice${mineSet.has(emoji) ? ' is-mine' : ''}`,
    'aria-label': mineSet.has(emoji) ? `Remove ${emoji} reaction` : `React with ${emoji}`,
    'aria-pressed': mineSet.has(emoji) ? 'true' : 'false',
    onclick: () => { close(); onToggle(emoji, !mineSet.has(emoji)); },
  }, emoji));
  picker.append(...buttons);
  picker.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement);
    const move = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (move !== undefined) { e.preventDefault(); buttons[(move + buttons.length) % buttons.length].focus(); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); }
  });
  anchor.setAttribute('aria-expanded', 'true');
  anchor.closest('.msg-content')?.append(picker);
  document.addEventListener('pointerdown', outside, true);
  buttons[0].focus();
}

/** Apply a `message.reaction` event ({member: handle, emoji, on}) to a message's reactions. */
export function applyReaction(message, ev) {
  const list = (message.reactions || []).map((r) => ({ ...r, members: [...r.members] }));
  let entry = list.find((r) => r.emoji === ev.emoji);
  if (ev.on) {
    if (!entry) { entry = { emoji: ev.emoji, count: 0, members: [] }; list.push(entry); }
    if (!entry.members.includes(ev.member)) entry.members.push(ev.member);
  } else if (entry) {
    entry.members = entry.members.filter((m) => m !== ev.member);
  }
  for (const r of list) r.count = r.members.length;
  return { ...message, reactions: list.filter((r) => r.count > 0) };
}
