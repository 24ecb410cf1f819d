// Styled dialogs instead of window.confirm(), and an accessible menu button.

import { h, icon } from '../dom.js';

/** Ask before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog({ title, text, confirm = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const id = `confirm-${Date.now()}`;
    const ok = h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, confirm);
    const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel');
    const dialog = h('dialog', { class: 'dialog dialog-small', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-text` },
      h('div', { class: 'confirm' },
        h('h2', { id: `${id}-title` }, title),
        h('p', { id: `${id}-text`, class: 'muted' }, text),
        h('div', { class: 'dialog-actions' }, cancel, ok)));
    let answer = false;
    ok.addEventListener('click', () => { answer = true; dialog.close(); });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener?.isConnected) opener.focus({ preventScroll: true });
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * A menu button (WAI-ARIA menu pattern): `items()` is called on each open and returns
 * [{label, onSelect, danger?, testid?}] (null entries are skipped).
 */
export function menuButton({ label, iconName = 'more', items }) {
  const menuId = `menu-${Math.random().toString(36).slice(2)}`;
  const button = h('button', {
    type: 'button', class: 'btn btn-ghost btn-icon', 'aria-label': label, title: label,
    'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': menuId,
  }, icon(iconName));
  const menu = h('ul', { id: menuId, class: 'menu', role: 'menu', 'aria-label': label, hidden: true });
  const wrap = h('div', { class: 'menu-wrap' }, button, menu);
  const entries = () => [...menu.querySelectorAll('[role="menuitem"]')];
  const close = (focusButton = true) => {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (focusButton) button.focus();
  };
  const outside = (e) => { if (!wrap.contains(e.target)) close(false); };
  const open = async (focusLast = false) => {
    menu.replaceChildren();
    for (const item of (await items()).filter(Boolean)) {
      const el = h('li', { role: 'none' }, h('button', {
        type: 'button', role: 'menuitem', tabindex: '-1', class: `menu-item${item.danger ? ' is-danger' : ''}`,
        dataset: item.testid ? { testid: item.testid } : undefined,
        onclick: () => { close(); item.onSelect(); },
      }, item.label));
      menu.append(el);
    }
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
    const all = entries();
    (focusLast ? all[all.length - 1] : all[0])?.focus();
  };
  button.addEventListener('click', () => (menu.hidden ? open() : close()));
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); open(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); open(true); }
  });
  menu.addEventListener('keydown', (e) => {
    const all = entries();
    const i = all.indexOf(document.activeElement);
    const move = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (move !== undefined) { e.preventDefault(); all[(move + all.length) % all.length]?.focus(); }
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    if (e.key === 'Tab') close(false);
  });
  return { el: wrap, button, close };
}
