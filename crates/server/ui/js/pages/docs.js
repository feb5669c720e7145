// Docs and their datasets: a doc groups datasets, each run by a block; one v4 call (or one
// webhook call) runs the selected datasets.
import { html, useState } from '../lib.js';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { short, Time } from '../format.js';
import { Action, Empty, Fact, Loaded, Notice, useLoad } from '../parts/ui.js';
import { useNames } from '../parts/names.js';

function NewDoc({ blocks }) {
    const [name, setName] = useState('');
    const [rows, setRows] = useState([{ key: 'main', block: '' }]);
    const [error, setError] = useState(null);
    const setRow = (i, field) => (e) => setRows(rows.map((r, j) => (j === i ? { ...r, [field]: e.target.value } : r)));
    const submit = async (event) => {
        event.preventDefault();
        setError(null);
        try {
            const doc = await api('POST', '/v1/docs', { body: { name, datasets: rows } });
            navigate(`/ui/docs/${doc.id}`);
        } catch (failure) {
            setError(failure.message);
        }
    };
    return html`<form class="card" onSubmit=${submit} aria-label="New doc">
        <h2>New doc</h2>
        <label class="field"><span>Name</span><input required value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        ${rows.map((row, i) => html`<div class="row">
            <label class="field"><span>Dataset key</span><input required value=${row.key} onInput=${setRow(i, 'key')} /></label>
            <label class="field"><span>Block</span><select required value=${row.block} onChange=${setRow(i, 'block')}>
                <option value="">choose…</option>${blocks.map((b) => html`<option value=${b.id}>${b.name}</option>`)}</select></label>
            ${rows.length > 1 && html`<button type="button" class="button small" onClick=${() => setRows(rows.filter((_, j) => j !== i))}>Remove</button>`}
        </div>`)}
        <button type="button" class="button small" onClick=${() => setRows([...rows, { key: '', block: '' }])}>Add a dataset</button>
        <button class="button primary" type="submit" disabled=${!name.trim()}>Create doc</button>
        <${Notice} kind="error">${error}<//>
    </form>`;
}

export function Docs({ session }) {
    const docs = useLoad(() => api('GET', '/v1/docs'), []);
    const names = useNames();
    const admin = session.scope === 'admin';
    return html`<h1>Docs</h1>
        <p class="muted">A doc groups datasets; each dataset is run by a block. A call to the doc runs all its datasets, or the ones it names.</p>
        <${Loaded} state=${docs}>${(list) =>
            list.length === 0
                ? html`<${Empty} title="No docs yet">${admin ? 'Create one below from your blocks.' : 'An admin of your team can add one.'}<//>`
                : html`<div class="table-wrap"><table class="list" data-testid="docs">
                    <thead><tr><th scope="col">Name</th><th scope="col">Datasets</th><th scope="col">Updated</th></tr></thead>
                    <tbody>${list.map((d) => html`<tr><td><a href=${`/ui/docs/${d.id}`}>${d.name}</a>${d.archivedAt ? html` <span class="badge">archived</span>` : ''}</td>
                        <td>${d.datasets.map((s) => s.key).join(', ')}</td><td><${Time} ms=${d.updatedAt} /></td></tr>`)}</tbody>
                  </table></div>`}<//>
        ${admin && names && html`<${NewDoc} blocks=${names.blocks} />`}`;
}

export function DocPage({ id, session }) {
    const doc = useLoad(() => api('GET', `/v1/docs/${id}`), [id]);
    const names = useNames();
    const admin = session.scope === 'admin';
    const remove = (doc) => async () => {
        await api('DELETE', `/v1/docs/${doc.id}`);
        navigate('/ui/docs');
    };
    return html`<${Loaded} state=${doc}>${(d) => html`
        <p class="crumbs"><a href="/ui/docs">Docs</a> /</p>
        <h1>${d.name}</h1>
        <dl class="facts">
            <${Fact} term="Id"><span class="mono">${d.id}</span><//>
            <${Fact} term="Keeps inputs">${d.storePayload ? 'yes' : 'no'}<//>
            <${Fact} term="Updated"><${Time} ms=${d.updatedAt} /><//>
        </dl>
        <p><a href=${`/ui/executions${query({ doc: d.id })}`}>Executions of this doc</a> · <a href=${`/ui/webhooks${query({ doc: d.id })}`}>Webhooks</a></p>
        <h2>Datasets</h2>
        <div class="table-wrap"><table class="list" data-testid="datasets">
            <thead><tr><th scope="col">Key</th><th scope="col">Block</th><th scope="col">Version</th><th scope="col">Timeout</th></tr></thead>
            <tbody>${d.datasets.map((s) => html`<tr><td class="mono">${s.key}</td><td><a href=${`/ui/blocks/${s.block}`}>${names ? names.name(s.block) : short(s.block)}</a></td>
                <td>${s.version ? `pinned to ${s.version}` : 'active'}</td><td>${s.timeoutMs ? `${s.timeoutMs} ms` : 'block default'}</td></tr>`)}</tbody>
        </table></div>
        ${admin && html`<p><${Action} kind="danger" action=${remove(d)} confirm=${`Delete the doc "${d.name}"? Its webhooks stop working.`}>Delete doc<//></p>`}`}<//>`;
}
