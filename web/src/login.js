import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api.js';

// The key is typed here and sent once, in a header, to POST /auth/session; the page keeps
// nothing of it.
export function Login({ onIn, notice }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(notice || '');
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const r = await api('POST', '/auth/session', { credential: key.trim() });
      setKey('');
      onIn(r.csrf_token);
    } catch (err) {
      setError(err.status === 401 ? 'That key is not this agent\u2019s.' : err.message);
    } finally {
      setBusy(false);
    }
  }
  return html`
    <main class="login" data-testid="login-page">
      <form onSubmit=${submit} class="card">
        <h1>Moccha</h1>
        <label for="key">API key</label>
        <input id="key" type="password" autocomplete="off" spellcheck="false" required
               data-testid="login-key" value=${key} onInput=${(e) => setKey(e.target.value)} />
        <button type="submit" disabled=${busy} data-testid="login-submit">Log in</button>
        ${error && html`<p class="error" role="alert" data-testid="login-error">${error}</p>`}
        <p class="hint">The key is in <code>~/.moccha/api_key</code>, or run <code>moccha key</code>.</p>
      </form>
    </main>`;
}
