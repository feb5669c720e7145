// One execution: what happened (status, error, figures), what went in (data, body, captured
// headers, env layers; unless the block keeps no payloads), what came out (output, logs,
// outbound calls, attempts, callbacks), and Replay, also with another version.
import { html, useEffect, useState } from '../lib.js';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { bytes, count, micros, short, Time } from '../format.js';
import { Action, Fact, isFinal, Loaded, Notice, Payload, Status, useLoad } from '../parts/ui.js';
import { useNames } from '../parts/names.js';

/** A stored file (base64) as text when it is UTF-8, parsed when it is JSON. */
function decodeFile(encoded) {
    try {
        const raw = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
        const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
        try {
            return { value: JSON.parse(text) };
        } catch {
            return { text };
        }
    } catch {
        return { text: `(${encoded.length} base64 characters of binary data)` };
    }
}

/** What the files a trigger webhook stores next to the data are. */
const FILE_TITLES = { body: 'Raw request body', 'headers.json': 'Captured headers', 'request.json': 'Captured request' };

function Input({ input }) {
    if (!input) {
        return html`<p class="muted" data-testid="input-hidden">The input was not kept: the block or doc has <code>storePayload: false</code>, or retention purged it. It cannot be replayed.</p>`;
    }
    const files = Object.entries(input.files || {});
    const env = Object.entries(input.env || {});
    return html`<h3>Data</h3><${Payload} value=${input.data} label="data" testId="input-data" />
        ${files.map(([name, encoded]) => {
            const file = decodeFile(encoded);
            const title = FILE_TITLES[name] || `/webhook/${name}`;
            return html`<h3>${title}</h3><${Payload} ...${file} label=${name} testId=${`input-${name.replace('.json', '')}`} />`;
        })}
        ${env.length > 0 && html`<h3>Request env</h3><${Payload} value=${input.env} label="env" />`}`;
}

/** Rows shown before "Show all": long logs stay readable and the page stays fast. */
const FIRST_ROWS = 50;

function ShowAll({ total, onClick }) {
    return html`<button type="button" class="button small" onClick=${onClick}>Show all ${count(total)} rows</button>`;
}

function Logs({ execution }) {
    const [all, setAll] = useState(false);
    if (!execution.logs.length) return html`<p class="muted">No log lines.</p>`;
    const lines = all ? execution.logs : execution.logs.slice(0, FIRST_ROWS);
    return html`<div class="table-wrap"><table class="list logs" data-testid="logs">
        <thead><tr><th scope="col">Level</th><th scope="col">Stream</th><th scope="col">Message</th></tr></thead>
        <tbody>${lines.map((line) => html`<tr><td><span class=${`badge level-${line.level}`}>${line.level}</span></td><td class="muted">${line.stream}</td><td class="mono wrap">${line.message}</td></tr>`)}</tbody>
    </table></div>
    ${lines.length < execution.logs.length && html`<${ShowAll} total=${execution.logs.length} onClick=${() => setAll(true)} />`}
    ${execution.logsDroppedBytes > 0 && html`<p class="muted">${bytes(execution.logsDroppedBytes)} of logs were dropped over the cap.</p>`}`;
}

function Outbound({ calls: every }) {
    const [all, setAll] = useState(false);
    if (!every.length) return html`<p class="muted">The block made no HTTP requests.</p>`;
    const calls = all ? every : every.slice(0, FIRST_ROWS);
    return html`<div class="table-wrap"><table class="list">
        <thead><tr><th scope="col">Request</th><th scope="col">Result</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Received</th><th scope="col" class="num">Time</th></tr></thead>
        <tbody>${calls.map((c) => html`<tr><td class="mono wrap">${c.method} ${c.url}</td><td>${c.error ? html`<span class="inline-error">${c.error}</span>` : c.status}</td><td class="num">${bytes(c.bytesOut)}</td><td class="num">${bytes(c.bytesIn)}</td><td class="num">${c.durationMs} ms</td></tr>`)}</tbody>
    </table></div>
    ${calls.length < every.length && html`<${ShowAll} total=${every.length} onClick=${() => setAll(true)} />`}`;
}

function Replay({ execution, canChange }) {
    const versions = useLoad(async () => (canChange ? api('GET', `/v1/blocks/${execution.blockId}/versions`) : []), [execution.blockId]);
    const [version, setVersion] = useState('');
    if (!canChange) return html`<p class="muted">Replaying needs an admin key.</p>`;
    const replay = async () => {
        const body = version ? { version: Number(version) } : undefined;
        const started = await api('POST', `/v1/executions/${execution.id}/replay?wait=false`, { body });
        navigate(`/ui/executions/${started.executionId}`);
    };
    return html`<div class="replay">
        <label class="field inline"><span>Version</span>
            <select value=${version} onChange=${(e) => setVersion(e.target.value)} data-testid="replay-version">
                <option value="">the active one</option>
                ${(versions.data || []).map((v) => html`<option value=${v.version}>version ${v.version}</option>`)}
            </select></label>
        <${Action} kind="primary" action=${replay} disabled=${!execution.input} testId="replay">Replay<//>
    </div>`;
}

export function ExecutionPage({ id, session }) {
    // Polled while the run can still change; a final one is read once.
    const [every, setEvery] = useState(1500);
    const state = useLoad(() => api('GET', `/v1/executions/${id}`), [id], every);
    const final = !!state.data && state.data.id === id && isFinal(state.data.status);
    useEffect(() => setEvery(final ? 0 : 1500), [final]);
    const names = useNames();
    const name = (id) => (names ? names.name(id) : short(id));
    return html`<${Loaded} state=${state}>${(e) => html`
        <p class="crumbs"><a href="/ui/executions">Executions</a> /</p>
        <h1 class="title-row"><span class="mono" title=${e.id}>Execution ${short(e.id)}</span> <${Status} status=${e.status} /></h1>
        ${e.error && html`<${Notice} kind="error"><strong>${e.error.kind.replace(/_/g, ' ')}</strong>${e.error.code ? html` (${e.error.code})` : ''}: <span data-testid="error-message">${e.error.message}</span><//>`}
        ${!isFinal(e.status) && html`<p class="muted" aria-live="polite">This run is ${e.status.replace('_', ' ')}; the page updates by itself.</p>`}
        <section aria-label="Actions"><${Replay} execution=${e} canChange=${session.scope === 'admin'} /></section>
        <dl class="facts">
            <${Fact} term="Block"><a href=${`/ui/blocks/${e.blockId}`}>${name(e.blockId)}</a> version ${e.blockVersion}<//>
            ${e.docId && html`<${Fact} term="Doc"><a href=${`/ui/docs/${e.docId}`}>${name(e.docId)}</a> · dataset ${e.datasetKey}<//>`}
            ${e.webhookId && html`<${Fact} term="Webhook"><a href=${`/ui/webhooks/${e.webhookId}`}>${name(e.webhookId)}</a><//>`}
            <${Fact} term="Trigger">${e.trigger}<//>
            <${Fact} term="Created"><${Time} ms=${e.createdAt} /><//>
            <${Fact} term="Started"><${Time} ms=${e.startedAt} /><//>
            <${Fact} term="Finished"><${Time} ms=${e.finishedAt} /><//>
            <${Fact} term="Duration">${e.finishedAt ? micros(e.durationUs) : '—'}<//>
            <${Fact} term="Fuel">${count(e.fuelConsumed)}<//>
            <${Fact} term="Peak memory">${bytes(e.peakMemoryBytes)}<//>
            <${Fact} term="Attempt">${e.attempt}${e.retryOf ? html` of the delivery <a href=${`/ui/executions/${e.retryOf}`}>${short(e.retryOf)}</a>` : ''}<//>
            ${e.replayOf && html`<${Fact} term="Replay of"><a href=${`/ui/executions/${e.replayOf}`} data-testid="replay-of">${short(e.replayOf)}</a><//>`}
            ${e.idempotencyKey && html`<${Fact} term="Idempotency key"><code data-testid="idempotency-key">${e.idempotencyKey}</code><//>`}
            ${e.notBefore && html`<${Fact} term="Scheduled for"><${Time} ms=${e.notBefore} /><//>`}
        </dl>
        <h2>Input</h2><${Input} input=${e.input} />
        <h2>Output</h2>${e.output === null || e.output === undefined ? html`<p class="muted">No output.</p>` : html`<${Payload} value=${e.output} label="output" testId="output" />`}
        <h2>Logs</h2><${Logs} execution=${e} />
        <h2>Outbound calls</h2><${Outbound} calls=${e.outbound} />
        ${e.delivery && e.delivery.attempts.length > 1 && html`<h2>Attempts</h2><ol>${e.delivery.attempts.map((a) => html`<li><a href=${`/ui/executions/${a.id}`}>${short(a.id)}</a> <${Status} status=${a.status} /></li>`)}</ol>`}
        ${e.callbacks && e.callbacks.length > 0 && html`<h2>Completion callbacks</h2><${Payload} value=${e.callbacks} label="callbacks" />`}`}<//>`;
}
