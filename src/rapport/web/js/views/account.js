// Settings, "Account and data" (issue 12): change password, sign out everywhere, download
// one's data, delete one's account. Each says in words what it did; the irreversible ones
// ask first in a styled dialog (never window.confirm).

import { api, auth, request } from '../api.js';
import { h, toast } from '../dom.js';
import { confirmDialog } from './dialogs.js';

Object.assign(api, {
  changePassword: (current, next) => request('POST', '/me/password', { current, new: next }),
  logoutEverywhere: () => request('POST', '/auth/logout?everywhere=true'),
  deleteAccount: (password) => request('DELETE', '/me', { password }),
});

const PASSWORD_MIN = 8;

/** Leave the app once the server has ended this session (no second logout call). */
function leave(app, message) {
  auth.token = null;
  toast(message);
  app.signOut();
}

function passwordForm() {
  const status = h('p', { class: 'form-error', role: 'alert' });
  const field = (id, label, autocomplete) => {
    const input = h('input', { id, type: 'password', class: 'input', required: true, autocomplete, maxlength: '256' });
    return [input, h('div', { class: 'field' }, h('label', { for: id }, label), input)];
  };
  const [current, currentField] = field('password-current', 'Current password', 'current-password');
  const [next, nextField] = field('password-new', 'New password', 'new-password');
  const [again, againField] = field('password-again', 'Repeat the new password', 'new-password');
  next.setAttribute('minlength', String(PASSWORD_MIN));
  next.setAttribute('aria-describedby', 'password-new-help');
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password');
  const form = h('form', { class: 'account-form', 'aria-labelledby': 'password-title', novalidate: true },
    h('h3', { id: 'password-title' }, 'Change password'),
    currentField, nextField,
    h('p', { id: 'password-new-help', class: 'muted' }, `At least ${PASSWORD_MIN} characters. Your other devices will be signed out.`),
    againField, status, h('div', { class: 'dialog-actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    if (!current.value) { status.textContent = 'Enter your current password.'; current.focus(); return; }
    if (next.value.length < PASSWORD_MIN) { status.textContent = `The new password needs at least ${PASSWORD_MIN} characters.`; next.focus(); return; }
    if (next.value !== again.value) { status.textContent = 'The two new passwords are not the same.'; again.focus(); return; }
    save.disabled = true;
    try {
      await api.changePassword(current.value, next.value);
      form.reset();
      toast('Password changed. Your other devices were signed out.');
    } catch (err) {
      status.textContent = err.code === 'wrong_password' ? 'That is not your current password.' : err.message;
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

async function downloadData(app, button, status) {
  button.disabled = true;
  status.textContent = 'Preparing your data…';
  try {
    const res = await fetch('/api/v1/me/export', { headers: { Authorization: `Bearer ${auth.token}` } });
    if (!res.ok) throw new Error(res.status === 429 ? 'Too many requests. Try again in a moment.' : 'Your data could not be prepared. Try again.');
    const url = URL.createObjectURL(await res.blob());
    const link = h('a', { href: url, download: `rapport-${app.me.handle}.zip`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = 'Your data was downloaded.';
  } catch (err) {
    status.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

/** Asks for the password in a dialog; resolves when the account is gone or the dialog is closed. */
function deleteAccountDialog(app) {
  const opener = document.activeElement;
  const password = h('input', { id: 'delete-password', type: 'password', class: 'input', required: true, autocomplete: 'current-password' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel');
  const confirm = h('button', { type: 'submit', class: 'btn btn-danger' }, 'Delete my account');
  const form = h('form', { class: 'confirm', method: 'dialog' },
    h('h2', { id: 'delete-title' }, 'Delete your account?'),
    h('p', { id: 'delete-text', class: 'muted' },
      'Your profile, connections, invitations and settings are erased and you are signed out everywhere. ',
      'Messages you sent stay with the people you sent them to, shown as from “Deleted member”. This cannot be undone.'),
    h('div', { class: 'field' }, h('label', { for: 'delete-password' }, 'Your password'), password),
    error,
    h('div', { class: 'dialog-actions' }, cancel, confirm));
  const dialog = h('dialog', { class: 'dialog dialog-small', 'aria-labelledby': 'delete-title', 'aria-describedby': 'delete-text' }, form);
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus({ preventScroll: true });
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!password.value) { error.textContent = 'Enter your password to confirm.'; password.focus(); return; }
    confirm.disabled = true;
    try {
      await api.deleteAccount(password.value);
      dialog.close();
      leave(app, 'Your account was deleted.');
    } catch (err) {
      error.textContent = err.code === 'wrong_password' ? 'That password is not right.' : err.message;
      password.select();
    } finally {
      confirm.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  password.focus();
}

/** The "Account and data" card of Settings. */
export function renderAccount(app) {
  const card = h('section', { class: 'card account', 'aria-labelledby': 'account-title' },
    h('h2', { id: 'account-title' }, 'Account and data'));
  card.append(passwordForm());

  const everywhere = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Sign out everywhere');
  everywhere.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Sign out everywhere?',
      text: 'Every device signed in to your account, this one included, is signed out at once.',
      confirm: 'Sign out everywhere',
    });
    if (!ok) return;
    try {
      await api.logoutEverywhere();
      leave(app, 'You were signed out on every device.');
    } catch (err) { toast(err.message); }
  });

  const dataStatus = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const download = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Download my data');
  download.addEventListener('click', () => downloadData(app, download, dataStatus));

  const remove = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete account');
  remove.addEventListener('click', () => deleteAccountDialog(app));

  card.append(
    h('div', { class: 'setting' },
      h('div', { class: 'setting-text' },
        h('p', { class: 'setting-label' }, 'Sessions'),
        h('p', { class: 'muted' }, 'Signed in somewhere you no longer use? End every session of your account.')),
      everywhere),
    h('div', { class: 'setting' },
      h('div', { class: 'setting-text' },
        h('p', { class: 'setting-label' }, 'Your data'),
        h('p', { class: 'muted' }, 'A zip of your profile, connections, conversations and the files you sent.'),
        dataStatus),
      download),
    h('div', { class: 'setting' },
      h('div', { class: 'setting-text' },
        h('p', { class: 'setting-label' }, 'Delete account'),
        h('p', { class: 'muted' }, 'Erase your account. Your messages stay with the people you sent them to.')),
      remove),
  );
  return card;
}
