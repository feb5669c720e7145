// Webhooks: every URL senders call, and a form to create one for a block or a doc. A new
// webhook's secret is shown once, right here, with its URL to copy.
import { html, useState } from '../lib.js';
import { api } from '../api.js';
import { CopyButton, Empty, Loaded, Notice, useLoad } from '../parts/ui.js';
import { useNames } from '../parts/names.js';

/** A webhook's state as a badge. */
export function State({ webhook }) {
    const label = webhook.state === 'armed' ? (webhook.accepting ? 'armed: one call' : 'armed, expired') : webhook.state;
    return html`<span class=${`badge state-${webhook.state}`} data-testid="webhook-state">${label}</span>`;
}

/** The URL with its copy button. */
export function Url({ url }) {
    return html`<span class="url"><code class="mono wrap" data-testid="webhook-url">${url}</code><${CopyButton} text=${url} label="Copy URL" testId="copy-url" /></span>`;
}

/** A secret shown once. */
export function OnceSecret({ secret }) {
    if (!secret) return null;
    return html`<div class="notice notice-warning" role="status">
        <p><strong>Copy the secret now: it is not shown again.</strong> Senders send it as <code>Authorization: Bearer …</code> (or <code>?token=…</code>).</p>
        <span class="url"><code class="mono wrap" data-testid="webhook-secret">${secret}</code><${CopyButton} text=${secret} label="Copy secret" testId="copy-secret" /></span>
    </div>`;
}

function NewWebhook({ names, preset, onCreated }) {
    const [type, setType] = useState(preset.doc ? 'doc' : 'block');
    const [target, setTarget] = useState(preset.doc || preset.block || '');
    const [name, setName] = useState('');
    const [auth, setAuth] = useState('secret');
    const [responseMode, setResponseMode] = useState('sync');
    const [captureRequest, setCaptureRequest] = useState(false);
    const [error, setError] = useState(null);
    const choices = type === 'block' ? names.blocks : names.docs;
    const submit = async (event) => {
        event.preventDefault();
        setError(null);
        try {
            const body = { target: { type, id: target }, auth, settings: { responseMode, captureRequest }, ...(name ? { name } : {}) };
            onCreated(await api('POST', '/v1/webhooks', { body }));
        } catch (failure) {
            setError(failure.message);
        }
    };
    return html`<form class="card" onSubmit=${submit} aria-label="New webhook">
        <h2>New webhook</h2>
        <div class="row">
            <label class="field"><span>Runs a</span><select value=${type} onChange=${(e) => { setType(e.target.value); setTarget(''); }}><option value="block">block</option><option value="doc">doc</option></select></label>
            <label class="field"><span>${type === 'block' ? 'Block' : 'Doc'}</span><select required value=${target} onChange=${(e) => setTarget(e.target.value)} data-testid="webhook-target">
                <option value="">choose…</option>${choices.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select></label>
            <label class="field"><span>Name <small>(optional)</small></span><input value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        </div>
        <div class="row">
            <label class="field"><span>Senders prove themselves with</span><select value=${auth} onChange=${(e) => setAuth(e.target.value)}>
                <option value="secret">a secret</option><option value="none">the URL alone (or a signature, set later)</option></select></label>
            <label class="field"><span>Answer</span><select value=${responseMode} onChange=${(e) => setResponseMode(e.target.value)}>
                <option value="sync">with the run's output (sync)</option><option value="async">at once with an execution id (async)</option></select></label>
        </div>
        <label class="toggle"><input type="checkbox" checked=${captureRequest} onChange=${(e) => setCaptureRequest(e.target.checked)} /> Capture each call's headers and request line (for the block, and shown with its runs)</label>
        <button class="button primary" type="submit" disabled=${!target} data-testid="create-webhook">Create webhook</button>
        <${Notice} kind="error">${error}<//>
    </form>`;
}

export function Webhooks({ session, query: params }) {
    const webhooks = useLoad(() => api('GET', '/v1/webhooks'), []);
    const names = useNames();
    const [created, setCreated] = useState(null);
    const admin = session.scope === 'admin';
    const preset = { block: params.get('block'), doc: params.get('doc') };
    const only = preset.block || preset.doc;
    return html`<h1>Webhooks</h1>
        <p class="muted">Each webhook is a URL that runs a block or a doc when an event is POSTed to it.</p>
        ${created && html`<div class="card created" data-testid="created-webhook">
            <h2>Webhook created</h2>
            <p>Give this URL to the sender:</p><${Url} url=${created.url} />
            <${OnceSecret} secret=${created.secret} />
            <p><a href=${`/ui/webhooks/${created.id}`}>Manage this webhook</a></p>
        </div>`}
        ${admin && names && html`<${NewWebhook} names=${names} preset=${preset} onCreated=${(w) => { setCreated(w); webhooks.reload(); }} />`}
        <${Loaded} state=${webhooks}>${(list) => {
            const shown = only ? list.filter((w) => w.target.id === only) : list;
            return shown.length === 0
                ? html`<${Empty} title="No webhooks yet">${admin ? 'Create one above for a block or a doc.' : 'An admin of your team can add one.'}<//>`
                : html`<div class="table-wrap"><table class="list" data-testid="webhooks">
                    <thead><tr><th scope="col">Name</th><th scope="col">Runs</th><th scope="col">State</th><th scope="col">URL</th></tr></thead>
                    <tbody>${shown.map((w) => html`<tr><td><a href=${`/ui/webhooks/${w.id}`}>${w.name}</a></td>
                        <td>${w.target.type} ${names ? names.name(w.target.id) : ''}</td><td><${State} webhook=${w} /></td>
                        <td><${CopyButton} text=${w.url} label="Copy URL" /></td></tr>`)}</tbody>
                  </table></div>`;
        }}<//>`;
}
