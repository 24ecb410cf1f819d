// Settings: editing one's profile (name, headline, industry, location, picture), and the list of
// blocked members with Unblock.

import { api } from '../api.js';
import { h, clear, avatar, toast } from '../dom.js';
import { uploadFile, uploadError } from './attachments.js';

const FIELDS = [
  ['name', 'Name', { required: true, maxlength: '100', autocomplete: 'name' }],
  ['headline', 'Headline', { maxlength: '200', placeholder: 'e.g. Engineering Manager at Northwind' }],
  ['industry', 'Industry', { maxlength: '200' }],
  ['location', 'Location', { maxlength: '200', autocomplete: 'address-level2' }],
];

/** The top bar shows the member's name and picture: keep it in step after a change. */
function refreshTopBar(app) {
  const box = document.querySelector('.me');
  if (!box) return;
  const name = box.querySelector('.me-name');
  if (name) name.textContent = app.me.name;
  box.querySelector('img.avatar')?.replaceWith(avatar(app.me, 'sm'));
}

/** The "Your profile" card: a form for the text fields and a picture upload (cropped square by the server). */
export function renderProfileEditor(app) {
  const onSaved = () => refreshTopBar(app);
  const card = h('section', { class: 'card profile-editor', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title' }, 'Your profile'));
  const picture = h('div', { class: 'profile-picture' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const fileInput = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  const progress = h('progress', { max: '100', value: '0', hidden: true, 'aria-label': 'Uploading picture' });

  const drawPicture = () => {
    const custom = !!app.me.avatar_url?.startsWith('/avatars/img/');
    clear(picture).append(
      avatar(app.me, 'lg', 'Your profile picture'),
      h('div', { class: 'profile-picture-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => fileInput.click() },
          custom ? 'Change picture' : 'Upload picture'),
        custom ? h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: removePicture }, 'Remove picture') : null,
        progress, fileInput),
    );
  };

  async function removePicture() {
    try {
      const { member } = await api.removeAvatar();
      app.me = member;
      drawPicture();
      onSaved();
      status.textContent = 'Picture removed.';
    } catch (err) { status.textContent = err.message; }
  }

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    fileInput.value = '';
    if (!file) return;
    if (!file.type.startsWith('image/')) { status.textContent = 'Choose an image: PNG, JPEG, GIF or WebP.'; return; }
    progress.hidden = false;
    status.textContent = 'Uploading…';
    try {
      const attachment = await uploadFile(file, (p) => { progress.value = Math.round(p * 100); }).promise;
      const { member } = await api.setAvatar(attachment.id);
      app.me = member;
      drawPicture();
      onSaved();
      status.textContent = 'Picture updated.';
    } catch (err) {
      status.textContent = err.status !== undefined && !err.code ? uploadError(err.status, file.name, 25 * 1024 * 1024) : err.message;
    } finally {
      progress.hidden = true;
    }
  });

  const inputs = {};
  const form = h('form', { class: 'profile-form', novalidate: true });
  for (const [key, label, attrs] of FIELDS) {
    const id = `profile-${key}`;
    inputs[key] = h('input', { id, name: key, class: 'input', ...attrs });
    inputs[key].value = app.me[key] || '';
    form.append(h('div', { class: 'field' }, h('label', { for: id }, label), inputs[key]));
  }
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save profile');
  form.append(h('div', { class: 'dialog-actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const patch = {};
    for (const [key] of FIELDS) if (inputs[key].value.trim() !== (app.me[key] || '')) patch[key] = inputs[key].value.trim();
    if (!inputs.name.value.trim()) { inputs.name.setAttribute('aria-invalid', 'true'); inputs.name.focus(); status.textContent = 'Your name cannot be empty.'; return; }
    inputs.name.removeAttribute('aria-invalid');
    if (!Object.keys(patch).length) { status.textContent = 'Nothing to save.'; return; }
    save.disabled = true;
    try {
      const { member } = await api.updateProfile(patch);
      app.me = member;
      status.textContent = 'Profile saved.';
      toast('Profile saved.');
      onSaved();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  });
  drawPicture();
  card.append(h('p', { class: 'muted profile-handle' }, `@${app.me.handle} · ${app.isPremium() ? 'Premium' : 'Free'}${app.isPremium() ? ` · ${app.credits} InMail credits` : ''}`),
    picture, form, status);
  return card;
}

/** Blocked members, each with Unblock. */
export function renderBlocked() {
  const list = h('ul', { class: 'blocked-list', 'aria-labelledby': 'blocked-title' });
  const empty = h('p', { class: 'muted' }, 'Loading…');
  const card = h('section', { class: 'card', 'aria-labelledby': 'blocked-title' },
    h('h2', { id: 'blocked-title' }, 'Blocked members'),
    h('p', { class: 'muted' }, 'Blocked members cannot message or invite you, and neither of you sees the other’s profile, typing or read receipts.'),
    empty, list);
  const load = async () => {
    try {
      const { blocked } = await api.blocked();
      clear(list);
      empty.textContent = blocked.length ? '' : 'You have not blocked anyone.';
      empty.hidden = !!blocked.length;
      for (const m of blocked) {
        const name = m.name || m.handle;
        list.append(h('li', { class: 'blocked-item', dataset: { testid: 'blocked-member' } },
          avatar(m, 'sm'),
          h('span', { class: 'blocked-name' }, name),
          h('button', {
            type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': `Unblock ${name}`,
            onclick: async (e) => {
              e.currentTarget.disabled = true;
              try { await api.unblock(m.handle); toast(`You unblocked ${name}.`); load(); } catch (err) { toast(err.message); }
            },
          }, 'Unblock')));
      }
    } catch (err) { empty.textContent = err.message; }
  };
  load();
  return card;
}
