// The overview: the last hour at a glance (runs per minute by outcome, p50/p99 duration),
// and the latest failures to look at.
import { html } from '../lib.js';
import { api, query } from '../api.js';
import { count, micros, short, Time } from '../format.js';
import { Empty, Loaded, Status, useLoad } from '../parts/ui.js';
import { ChartTable, DurationChart, RunsChart } from '../parts/chart.js';

/** The latest runs that went wrong: failed, timed out or dead, newest first. */
async function latestFailures() {
    const lists = await Promise.all(['failed', 'timed_out', 'dead'].map((status) => api('GET', `/v1/executions${query({ status, limit: 5 })}`)));
    return lists.flat().sort((a, b) => b.createdAt - a.createdAt).slice(0, 5);
}

function Figure({ label, value, testId }) {
    return html`<div class="figure"><span class="figure-value" data-testid=${testId}>${value}</span><span class="figure-label">${label}</span></div>`;
}

export function Overview() {
    const stats = useLoad(() => api('GET', '/v1/executions/stats'), [], 10_000);
    const failures = useLoad(latestFailures, [], 10_000);
    return html`<h1>Overview</h1>
        <p class="muted">The last hour, refreshed every 10 seconds.</p>
        <${Loaded} state=${stats}>${(s) => {
            const t = s.totals;
            const all = Object.values(t).reduce((a, b) => a + b, 0);
            const bad = (t.failed || 0) + (t.timed_out || 0) + (t.dead || 0);
            return html`<section class="figures" aria-label="Last hour">
                    <${Figure} label="runs" value=${count(all)} testId="overview-runs" />
                    <${Figure} label="succeeded" value=${count(t.succeeded)} />
                    <${Figure} label="failed, timed out or dead" value=${count(bad)} />
                    <${Figure} label="p50 duration" value=${micros(s.p50Us)} />
                    <${Figure} label="p99 duration" value=${micros(s.p99Us)} />
                </section>
                ${all === 0
                    ? html`<${Empty} title="No runs in the last hour">Create a <a href="/ui/webhooks">webhook</a> for a block and send it an event; its runs appear here.<//>`
                    : html`<div class="charts"><${RunsChart} stats=${s} /><${DurationChart} stats=${s} /></div><${ChartTable} stats=${s} />`}`;
        }}<//>
        <h2>Latest failures</h2>
        <${Loaded} state=${failures}>${(list) =>
            list.length === 0
                ? html`<p class="muted">Nothing failed, timed out or died recently.</p>`
                : html`<ul class="plain">${list.map((e) => html`<li><${Status} status=${e.status} /> <a href=${`/ui/executions/${e.id}`}>${short(e.id)}</a> ${e.error ? e.error.message : ''} · <${Time} ms=${e.createdAt} /></li>`)}</ul>`}<//>`;
}
