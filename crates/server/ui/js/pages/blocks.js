// Blocks: the team's components, and a form to add one (its first version is uploaded on
// its page).
import { html, useState } from '../lib.js';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { Time } from '../format.js';
import { Empty, Loaded, Notice, useLoad } from '../parts/ui.js';

export const LANGUAGES = ['rust', 'python', 'javascript', 'go', 'other'];

function NewBlock({ onCreated }) {
    const [name, setName] = useState('');
    const [language, setLanguage] = useState('rust');
    const [error, setError] = useState(null);
    const submit = async (event) => {
        event.preventDefault();
        setError(null);
        try {
            const block = await api('POST', '/v1/blocks', { body: { name, language } });
            onCreated(block);
        } catch (failure) {
            setError(failure.message);
        }
    };
    return html`<form class="card inline-form" onSubmit=${submit} aria-label="New block">
        <h2>New block</h2>
        <label class="field"><span>Name</span><input name="name" required value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        <label class="field"><span>Language</span><select value=${language} onChange=${(e) => setLanguage(e.target.value)}>${LANGUAGES.map((l) => html`<option value=${l}>${l}</option>`)}</select></label>
        <button class="button primary" type="submit" disabled=${!name.trim()}>Create block</button>
        <${Notice} kind="error">${error}<//>
    </form>`;
}

export function Blocks({ session }) {
    const blocks = useLoad(() => api('GET', '/v1/blocks'), []);
    const admin = session.scope === 'admin';
    return html`<h1>Blocks</h1>
        <p class="muted">A block is a WebAssembly component (Rust, Python or JavaScript, built with the SDKs). Each upload is a new version; one is active.</p>
        ${admin && html`<${NewBlock} onCreated=${(b) => navigate(`/ui/blocks/${b.id}`)} />`}
        <${Loaded} state=${blocks}>${(list) =>
            list.length === 0
                ? html`<${Empty} title="No blocks yet">${admin ? 'Create one above, then upload its .wasm file.' : 'An admin of your team can add one.'}<//>`
                : html`<div class="table-wrap"><table class="list" data-testid="blocks">
                    <thead><tr><th scope="col">Name</th><th scope="col">Language</th><th scope="col">Active version</th><th scope="col">Updated</th></tr></thead>
                    <tbody>${list.map((b) => html`<tr><td><a href=${`/ui/blocks/${b.id}`}>${b.name}</a></td><td>${b.language}</td>
                        <td>${b.activeVersion ? `version ${b.activeVersion}` : html`<span class="muted">none uploaded</span>`}</td><td><${Time} ms=${b.updatedAt} /></td></tr>`)}</tbody>
                  </table></div>`}<//>`;
}
