// Sign-in: the key goes to the server once and is exchanged for a session cookie; the form
// is cleared and the key is kept nowhere.
import { html, useState } from '../lib.js';
import { api } from '../api.js';
import { Notice } from '../parts/ui.js';

export function SignIn({ onSignedIn }) {
    const [key, setKey] = useState('');
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const submit = async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        try {
            const info = await api('POST', '/ui/api/session', { body: { key } });
            setKey('');
            onSignedIn(info);
        } catch (failure) {
            setError(failure.status === 401 ? 'That key is not valid: check it, or ask an admin of your team for one.' : failure.message);
        } finally {
            setBusy(false);
        }
    };
    return html`<form class="card signin" onSubmit=${submit} aria-describedby="signin-help">
        <h1>Sign in to wasmhook</h1>
        <p id="signin-help">Paste an API key of your team (<code>{user id}-{secret}</code>). An admin key may change things; an execute key may look. The key is exchanged for a session cookie and is not kept in this browser.</p>
        <label for="api-key">API key</label>
        <input id="api-key" name="key" type="password" autocomplete="off" spellcheck="false" required value=${key} onInput=${(e) => setKey(e.target.value)} />
        <${Notice} kind="error">${error}<//>
        <button class="button primary" type="submit" disabled=${busy || !key}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>`;
}
