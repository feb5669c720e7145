// Executions: newest first, filtered by block, doc, webhook, status and time (the filters
// live in the URL, so a filtered view can be shared), counts by status for the same filter,
// and live updates while the newest page is shown.
import { html, useState } from '../lib.js';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { count, micros, short, Time, zone } from '../format.js';
import { Empty, Loaded, Notice, STATUSES, Status, useLoad } from '../parts/ui.js';
import { useNames } from '../parts/names.js';

const FILTERS = ['block', 'doc', 'webhook', 'status', 'since', 'until'];
const HOUR = 3_600_000;

/** `datetime-local` text (viewer's zone) ↔ epoch ms. */
function toLocalInput(ms) {
    if (!ms) return '';
    const d = new Date(Number(ms));
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The counts' window: the filter's, else the last hour (recomputed at every poll). */
function statsWindow(filter) {
    const until = filter.until ? Number(filter.until) : Date.now() + 60_000;
    const since = filter.since ? Number(filter.since) : until - HOUR;
    const bucket = Math.max(60_000, Math.ceil((until - since) / 1440 / 60_000) * 60_000);
    return { since, until, bucket };
}

function Select({ label, name, value, options, onChange }) {
    return html`<label class="field"><span>${label}</span>
        <select name=${name} value=${value || ''} onChange=${(e) => onChange(name, e.target.value)}>
            <option value="">any</option>
            ${options.map(([id, text]) => html`<option value=${id}>${text}</option>`)}
        </select></label>`;
}

function Filters({ filter, names, onChange }) {
    const set = (name, value) => onChange({ ...filter, [name]: value });
    const time = (name, text) => set(name, text ? String(new Date(text).getTime()) : '');
    return html`<form class="filters" aria-label="Filters" onSubmit=${(e) => e.preventDefault()}>
        <${Select} label="Block" name="block" value=${filter.block} onChange=${set} options=${(names ? names.blocks : []).map((b) => [b.id, b.name])} />
        <${Select} label="Doc" name="doc" value=${filter.doc} onChange=${set} options=${(names ? names.docs : []).map((d) => [d.id, d.name])} />
        <${Select} label="Webhook" name="webhook" value=${filter.webhook} onChange=${set} options=${(names ? names.webhooks : []).map((w) => [w.id, w.name])} />
        <${Select} label="Status" name="status" value=${filter.status} onChange=${set} options=${STATUSES.map((s) => [s, s.replace('_', ' ')])} />
        <label class="field"><span>From <small>(${zone})</small></span><input type="datetime-local" value=${toLocalInput(filter.since)} onChange=${(e) => time('since', e.target.value)} /></label>
        <label class="field"><span>Until</span><input type="datetime-local" value=${toLocalInput(filter.until)} onChange=${(e) => time('until', e.target.value)} /></label>
        ${FILTERS.some((f) => filter[f]) && html`<button type="button" class="button small" onClick=${() => onChange({})}>Clear filters</button>`}
    </form>`;
}

function Counts({ filter }) {
    const key = JSON.stringify(filter);
    const stats = useLoad(
        () => {
            const window = statsWindow(filter);
            return api('GET', `/v1/executions/stats${query({ ...filter, since: window.since, until: window.until, bucket: window.bucket })}`);
        },
        [key],
        filter.until ? 0 : 10_000,
    );
    if (!stats.data) return null;
    const totals = stats.data.totals;
    return html`<p class="counts" data-testid="status-counts">
        ${filter.since || filter.until ? 'In this window' : 'Last hour'}:
        ${STATUSES.filter((s) => totals[s]).map((s) => html`<span class="count"><${Status} status=${s} /> ${count(totals[s])}</span>`)}
        ${Object.keys(totals).length === 0 && html`<span class="muted">no runs</span>`}
    </p>`;
}

export function Executions({ query: params }) {
    const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || '']).filter(([, v]) => v));
    const [live, setLive] = useState(true);
    const [older, setOlder] = useState({ key: null, rows: [], more: true, error: null });
    const names = useNames();
    const key = JSON.stringify(filter);
    const newest = useLoad(() => api('GET', `/v1/executions${query({ ...filter, limit: 50 })}`), [key], live && !filter.until ? 2000 : 0);
    const change = (next) => navigate(`/ui/executions${query(next)}`, { replace: true });
    const extra = older.key === key ? older.rows : [];
    const rows = newest.data ? [...newest.data, ...extra.filter((r) => !newest.data.some((n) => n.id === r.id))] : [];
    const loadOlder = async () => {
        const last = rows[rows.length - 1];
        try {
            const page = await api('GET', `/v1/executions${query({ ...filter, before: last.id, limit: 50 })}`);
            setOlder({ key, rows: [...extra, ...page], more: page.length === 50, error: null });
        } catch (error) {
            setOlder({ ...older, error: error.message });
        }
    };
    return html`<h1>Executions</h1>
        <${Filters} filter=${filter} names=${names} onChange=${change} />
        <div class="toolbar">
            <${Counts} filter=${filter} />
            <label class="toggle"><input type="checkbox" checked=${live} disabled=${!!filter.until} onChange=${(e) => setLive(e.target.checked)} /> Live updates</label>
        </div>
        <${Loaded} state=${newest}>${() =>
            rows.length === 0
                ? html`<${Empty} title=${Object.keys(filter).length ? 'No executions match these filters' : 'No executions yet'}>
                      ${Object.keys(filter).length ? 'Widen the time range or clear a filter.' : html`Runs appear here as webhooks are called. Start from a <a href="/ui/blocks">block</a>.`}<//>`
                : html`<div class="table-wrap"><table class="list" data-testid="executions">
                      <thead><tr><th scope="col">Status</th><th scope="col">Execution</th><th scope="col">Block</th><th scope="col">Trigger</th><th scope="col" class="num">Duration</th><th scope="col">Created</th></tr></thead>
                      <tbody>${rows.map((e) => html`<tr>
                          <td><${Status} status=${e.status} /></td>
                          <td><a href=${`/ui/executions/${e.id}`} title=${e.id} class="mono">${short(e.id)}</a>${e.replayOf ? html` <span class="badge">replay</span>` : ''}</td>
                          <td>${names ? names.name(e.blockId) : short(e.blockId)} <span class="muted">v${e.blockVersion}</span></td>
                          <td>${e.trigger}${e.datasetKey ? html` <span class="muted">· ${e.datasetKey}</span>` : ''}</td>
                          <td class="num">${e.finishedAt ? micros(e.durationUs) : '—'}</td>
                          <td><${Time} ms=${e.createdAt} /></td></tr>`)}</tbody>
                  </table></div>
                  ${older.error && html`<${Notice} kind="error">${older.error}<//>`}
                  ${rows.length >= 50 && (older.key !== key || older.more) && html`<button type="button" class="button" onClick=${loadOlder}>Load older</button>`}`}<//>`;
}
