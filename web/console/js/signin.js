// Sign-in: an API token, kept in localStorage until sign-out.

import { h, field } from './dom.js';

export function renderSignIn(main, { signIn, message }) {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to the EstateFlow console'),
    message ? h('p', { class: 'notice' }, message) : null,
    field('API token', token, 'An API token of your organization (estateflow token create, or createApiToken). It is remembered in this browser until you sign out.'),
    error,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await signIn(token.value.trim());
    } catch (err) {
      error.textContent = err.code === 'UNAUTHENTICATED' ? 'That token was not accepted.' : `Could not sign in: ${err.message}`;
      token.setAttribute('aria-invalid', 'true');
      token.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  token.focus();
}
