// One block: upload a version (file picker), its versions with digest, size and shape,
// activate or roll back, and edit its env and limits.
import { html, useState } from '../lib.js';
import { api, query } from '../api.js';
import { bytes, Time } from '../format.js';
import { Action, Fact, Loaded, Notice, useLoad } from '../parts/ui.js';

function Upload({ block, onUploaded }) {
    const [file, setFile] = useState(null);
    const [message, setMessage] = useState(null);
    const [busy, setBusy] = useState(false);
    const submit = async (event) => {
        event.preventDefault();
        setBusy(true);
        setMessage(null);
        try {
            const version = await api('POST', `/v1/blocks/${block.id}/versions`, { bytes: await file.arrayBuffer(), contentType: 'application/wasm' });
            setMessage({ kind: 'success', text: `Version ${version.version} uploaded, compiled and active.` });
            event.target.reset();
            setFile(null);
            onUploaded();
        } catch (failure) {
            setMessage({ kind: 'error', text: failure.message });
        } finally {
            setBusy(false);
        }
    };
    return html`<form class="card inline-form" onSubmit=${submit} aria-label="Upload a version">
        <h2>Upload a version</h2>
        <label class="field"><span>Component (.wasm)</span><input type="file" accept=".wasm,application/wasm" data-testid="upload-file" onChange=${(e) => setFile(e.target.files[0] || null)} /></label>
        <button class="button primary" type="submit" disabled=${!file || busy} data-testid="upload">${busy ? 'Compiling…' : 'Upload'}</button>
        ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    </form>`;
}

function Versions({ block, admin, onChanged }) {
    const versions = useLoad(() => api('GET', `/v1/blocks/${block.id}/versions`), [block.id, block.activeVersion]);
    const activate = (version) => async () => {
        await api('POST', `/v1/blocks/${block.id}/activate`, { body: { version } });
        onChanged();
    };
    return html`<h2>Versions</h2><${Loaded} state=${versions}>${(list) =>
        list.length === 0
            ? html`<p class="muted">No version yet: upload the block's .wasm file.</p>`
            : html`<div class="table-wrap"><table class="list" data-testid="versions">
                <thead><tr><th scope="col">Version</th><th scope="col">Digest (SHA-256)</th><th scope="col" class="num">Size</th><th scope="col">Shape</th><th scope="col">Uploaded</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
                <tbody>${[...list].reverse().map((v) => html`<tr data-version=${v.version}>
                    <td>${v.version} ${v.version === block.activeVersion && html`<span class="badge status-succeeded">active</span>`}</td>
                    <td class="mono" title=${v.digest}>${v.digest.slice(0, 16)}…</td><td class="num">${bytes(v.size)}</td><td>${v.shape}</td><td><${Time} ms=${v.createdAt} /></td>
                    <td>${admin && v.version !== block.activeVersion && html`<${Action} action=${activate(v.version)} testId=${`activate-${v.version}`}>${v.version < (block.activeVersion || 0) ? 'Roll back to this' : 'Activate'}<//>`}</td></tr>`)}</tbody>
              </table></div>`}<//>`;
}

/** A number input's value as a limit: empty means the server's default (null). */
function limit(text) {
    return text === '' ? null : Number(text);
}

function Settings({ block, admin, onSaved }) {
    const [env, setEnv] = useState(JSON.stringify(block.env, null, 2));
    const [timeoutMs, setTimeoutMs] = useState(block.timeoutMs ?? '');
    const [fuel, setFuel] = useState(block.fuel ?? '');
    const [memoryBytes, setMemoryBytes] = useState(block.memoryBytes ?? '');
    const [storePayload, setStorePayload] = useState(block.storePayload);
    const [message, setMessage] = useState(null);
    const save = async (event) => {
        event.preventDefault();
        setMessage(null);
        let parsed;
        try {
            parsed = JSON.parse(env || '{}');
        } catch (failure) {
            setMessage({ kind: 'error', text: `Env is not valid JSON: ${failure.message}` });
            return;
        }
        try {
            const body = { env: parsed, timeoutMs: limit(timeoutMs), fuel: limit(fuel), memoryBytes: limit(memoryBytes), storePayload };
            await api('PATCH', `/v1/blocks/${block.id}`, { body });
            setMessage({ kind: 'success', text: 'Saved. The next run uses these settings.' });
            onSaved();
        } catch (failure) {
            setMessage({ kind: 'error', text: failure.message });
        }
    };
    return html`<form class="card" onSubmit=${save} aria-label="Env and limits">
        <h2>Env and limits</h2>
        <fieldset disabled=${!admin}>
        <label class="field"><span>Env (JSON object: <code>"NAME": "value"</code>, or <code>"NAME": {"secret": "SECRET_NAME"}</code>)</span>
            <textarea rows="6" class="mono" spellcheck="false" value=${env} onInput=${(e) => setEnv(e.target.value)} data-testid="env"></textarea></label>
        <div class="row">
            <label class="field"><span>Timeout (ms)</span><input type="number" min="1" placeholder="server default" value=${timeoutMs} onInput=${(e) => setTimeoutMs(e.target.value)} /></label>
            <label class="field"><span>Fuel</span><input type="number" min="1" placeholder="server default" value=${fuel} onInput=${(e) => setFuel(e.target.value)} /></label>
            <label class="field"><span>Memory (bytes)</span><input type="number" min="65536" placeholder="server default" value=${memoryBytes} onInput=${(e) => setMemoryBytes(e.target.value)} /></label>
        </div>
        <label class="toggle"><input type="checkbox" checked=${storePayload} onChange=${(e) => setStorePayload(e.target.checked)} /> Keep each run's input (needed for replay)</label>
        <button class="button primary" type="submit">Save settings</button>
        </fieldset>
        ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    </form>`;
}

export function BlockPage({ id, session }) {
    const block = useLoad(() => api('GET', `/v1/blocks/${id}`), [id]);
    const admin = session.scope === 'admin';
    return html`<${Loaded} state=${block}>${(b) => html`
        <p class="crumbs"><a href="/ui/blocks">Blocks</a> /</p>
        <h1>${b.name}</h1>
        <dl class="facts">
            <${Fact} term="Id"><span class="mono">${b.id}</span><//>
            <${Fact} term="Language">${b.language}<//>
            <${Fact} term="Active version">${b.activeVersion || 'none'}<//>
            <${Fact} term="Updated"><${Time} ms=${b.updatedAt} /><//>
        </dl>
        <p><a href=${`/ui/executions${query({ block: b.id })}`}>Executions of this block</a> · <a href=${`/ui/webhooks${query({ block: b.id })}`}>Webhooks</a></p>
        ${admin && html`<${Upload} block=${b} onUploaded=${block.reload} />`}
        <${Versions} block=${b} admin=${admin} onChanged=${block.reload} />
        <${Settings} block=${b} admin=${admin} onSaved=${block.reload} />`}<//>`;
}
