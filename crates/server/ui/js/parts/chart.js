// The overview chart: runs per slot stacked by outcome, and p50/p99 duration per slot, as
// inline SVG (no chart library). Each bar has a tooltip with its figures, and the figure has
// a text summary for screen readers.
import { html } from '../lib.js';
import { count, hhmm, micros } from '../format.js';

const OUTCOMES = [
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
    ['timed_out', 'timed out'],
    ['dead', 'dead letter'],
    ['queued', 'queued'],
    ['running', 'running'],
    ['scheduled', 'scheduled'],
];
const WIDTH = 720;
const HEIGHT = 180;
const LEFT = 64;
const BOTTOM = 20;

function axisTicks(series, width) {
    const every = Math.max(1, Math.ceil(series.length / 6));
    return series
        .map((slot, i) => ({ slot, i }))
        .filter(({ i }) => i % every === 0)
        .map(({ slot, i }) => html`<text x=${LEFT + i * width + width / 2} y=${HEIGHT - 4} class="tick" text-anchor="middle">${hhmm(slot.start)}</text>`);
}

/** Runs per slot, stacked by outcome. */
export function RunsChart({ stats }) {
    const series = stats.series;
    const totals = series.map((slot) => Object.values(slot.counts).reduce((a, b) => a + b, 0));
    const top = Math.max(1, ...totals);
    const width = (WIDTH - LEFT) / Math.max(1, series.length);
    const scale = (HEIGHT - BOTTOM - 8) / top;
    const bars = series.flatMap((slot, i) => {
        let y = HEIGHT - BOTTOM;
        return OUTCOMES.filter(([key]) => slot.counts[key]).map(([key, label]) => {
            const h = slot.counts[key] * scale;
            y -= h;
            return html`<rect x=${LEFT + i * width + 1} y=${y} width=${Math.max(1, width - 2)} height=${h} class=${`bar status-${key}`}>
                <title>${hhmm(slot.start)}: ${count(slot.counts[key])} ${label}</title></rect>`;
        });
    });
    const total = totals.reduce((a, b) => a + b, 0);
    const summary = `${count(total)} runs in the window; at most ${count(top)} in one minute`;
    return html`<figure class="chart">
        <figcaption>Runs per ${stats.bucketMs / 1000 >= 60 ? `${stats.bucketMs / 60000} min` : `${stats.bucketMs / 1000} s`}, by outcome</figcaption>
        <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${summary} data-testid="runs-chart">
            <line x1=${LEFT} x2=${WIDTH} y1=${HEIGHT - BOTTOM} y2=${HEIGHT - BOTTOM} class="axis" />
            <text x=${LEFT - 6} y="14" class="tick" text-anchor="end">${count(top)}</text>
            <text x=${LEFT - 6} y=${HEIGHT - BOTTOM} class="tick" text-anchor="end">0</text>
            ${bars}
            ${axisTicks(series, width)}
        </svg>
        <ul class="legend">${OUTCOMES.filter(([key]) => stats.totals[key]).map(([key, label]) => html`<li><span class=${`swatch status-${key}`}></span>${label} ${count(stats.totals[key])}</li>`)}</ul>
    </figure>`;
}

/** The charts' figures as a table (folded): for keyboard, touch and screen-reader users. */
export function ChartTable({ stats }) {
    const rows = stats.series.filter((slot) => Object.keys(slot.counts).length > 0);
    if (!rows.length) return null;
    const shown = OUTCOMES.filter(([key]) => stats.totals[key]);
    return html`<details class="fold"><summary>Show the figures as a table</summary><div class="table-wrap"><table class="list">
        <thead><tr><th scope="col">From</th>${shown.map(([, label]) => html`<th scope="col" class="num">${label}</th>`)}<th scope="col" class="num">p50</th><th scope="col" class="num">p99</th></tr></thead>
        <tbody>${rows.map((slot) => html`<tr><td>${hhmm(slot.start)}</td>${shown.map(([key]) => html`<td class="num">${count(slot.counts[key] || 0)}</td>`)}<td class="num">${micros(slot.p50Us)}</td><td class="num">${micros(slot.p99Us)}</td></tr>`)}</tbody>
    </table></div></details>`;
}

/** p50 and p99 duration per slot, on a log scale (durations span µs to seconds). */
export function DurationChart({ stats }) {
    const series = stats.series;
    const values = series.flatMap((slot) => [slot.p50Us, slot.p99Us]).filter((v) => v);
    if (!values.length) return null;
    const low = Math.log10(Math.max(1, Math.min(...values)) / 2);
    const high = Math.log10(Math.max(...values) * 2);
    const width = (WIDTH - LEFT) / Math.max(1, series.length);
    const y = (us) => HEIGHT - BOTTOM - ((Math.log10(us) - low) / Math.max(0.1, high - low)) * (HEIGHT - BOTTOM - 8);
    const line = (key) =>
        series
            .map((slot, i) => (slot[key] ? `${LEFT + i * width + width / 2},${y(slot[key]).toFixed(1)}` : null))
            .filter(Boolean)
            .join(' ');
    const dots = (key) =>
        series
            .map((slot, i) => slot[key] && html`<circle cx=${LEFT + i * width + width / 2} cy=${y(slot[key])} r="2.5" class=${`dot ${key}`}><title>${hhmm(slot.start)}: ${key === 'p50Us' ? 'p50' : 'p99'} ${micros(slot[key])}</title></circle>`)
            .filter(Boolean);
    return html`<figure class="chart">
        <figcaption>Duration per slot: p50 and p99 (log scale)</figcaption>
        <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${`p50 ${micros(stats.p50Us)}, p99 ${micros(stats.p99Us)} over the window`}>
            <line x1=${LEFT} x2=${WIDTH} y1=${HEIGHT - BOTTOM} y2=${HEIGHT - BOTTOM} class="axis" />
            <text x=${LEFT - 6} y="14" class="tick" text-anchor="end">${micros(Math.round(10 ** high))}</text>
            <text x=${LEFT - 6} y=${HEIGHT - BOTTOM} class="tick" text-anchor="end">${micros(Math.round(10 ** low))}</text>
            <polyline points=${line('p99Us')} class="line p99Us" />
            <polyline points=${line('p50Us')} class="line p50Us" />
            ${dots('p99Us')} ${dots('p50Us')}
            ${axisTicks(series, width)}
        </svg>
        <ul class="legend"><li><span class="swatch p50Us"></span>p50 ${micros(stats.p50Us)}</li><li><span class="swatch p99Us"></span>p99 ${micros(stats.p99Us)}</li></ul>
    </figure>`;
}
