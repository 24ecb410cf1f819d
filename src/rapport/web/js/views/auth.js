// Sign in / sign up.

import { api } from '../api.js';
import { h, clear } from '../dom.js';

function field(id, label, attrs) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, class: 'input', required: true, ...attrs }));
}

export function renderAuth(root, app, mode) {
  const isSignup = mode === 'signup';
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, isSignup ? 'Create account' : 'Sign in');
  const fields = isSignup
    ? [
        field('name', 'Full name', { autocomplete: 'name' }),
        field('handle', 'Handle', { autocomplete: 'username', pattern: '[A-Za-z0-9_.\\-]{2,40}', title: 'Letters, digits, dots, dashes or underscores', autocapitalize: 'off', spellcheck: 'false' }),
        field('email', 'Email', { type: 'email', autocomplete: 'email' }),
        field('password', 'Password', { type: 'password', autocomplete: 'new-password', minlength: 8 }),
      ]
    : [
        field('login', 'Email or handle', { autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false' }),
        field('password', 'Password', { type: 'password', autocomplete: 'current-password' }),
      ];
  const form = h('form', { class: 'auth-form', novalidate: false }, ...fields, error, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    const data = Object.fromEntries(new FormData(form));
    try {
      const res = isSignup
        ? await api.register({ handle: data.handle.trim(), name: data.name.trim(), email: data.email.trim(), password: data.password })
        : await api.login(data.login.trim(), data.password);
      history.replaceState(null, '', '#/inbox');
      await app.signIn(res.token);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      submit.disabled = false;
    }
  });
  const card = h('div', { class: 'auth-card' },
    h('div', { class: 'brand brand-lg' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'r'), h('span', { class: 'brand-name' }, 'Rapport')),
    h('h1', {}, isSignup ? 'Join your professional network' : 'Welcome back'),
    h('p', { class: 'muted' }, isSignup ? 'Create an account to message your connections.' : 'Sign in to your messages.'),
    form,
    h('p', { class: 'auth-switch' },
      isSignup ? 'Already have an account? ' : 'New to Rapport? ',
      h('a', { href: isSignup ? '#/login' : '#/signup' }, isSignup ? 'Sign in' : 'Create an account')),
  );
  clear(root).append(h('main', { id: 'main', class: 'auth-page' }, card));
  form.querySelector('input')?.focus();
}
