/**
 * Sign-in: an admin token exchanged for a session cookie. The token goes in the POST body only and
 * the field is emptied afterwards; it is never put in a URL or in page storage.
 */
import { ApiError, signIn } from './api.js';
import { el, fill } from './elements.js';
import type { Session } from './views.js';

export function showSignIn(root: HTMLElement, onSignedIn: (session: Session) => void, notice?: string): void {
  const token = el('input', { id: 'token', type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'admin token' });
  const error = el('p', { id: 'sign-in-error', class: 'sign-in-error', role: 'alert', hidden: !notice }, notice ?? '');
  const button = el('button', { id: 'sign-in', type: 'submit', class: 'primary' }, 'Sign in');
  const form = el(
    'form',
    { class: 'sign-in-form', autocomplete: 'off' },
    el('h1', {}, el('img', { src: 'assets/favicon.svg', alt: '', class: 'logo' }), 'kici'),
    el('label', { for: 'token' }, 'Admin token'),
    token,
    button,
    error,
    el('p', { class: 'hint' }, 'Create one with ', el('code', {}, 'kici-admin admin-token create --role viewer'), '.'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (!value) return;
    button.disabled = true;
    error.hidden = true;
    try {
      const session = await signIn(value);
      token.value = '';
      onSignedIn(session);
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401 ? `refused: ${e.message}` : e instanceof Error ? e.message : String(e);
      error.hidden = false;
      token.select();
    } finally {
      button.disabled = false;
    }
  });
  fill(root, el('main', { class: 'sign-in' }, form));
  token.focus();
}
