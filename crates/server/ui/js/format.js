// Numbers and times for people: times in the viewer's own zone, durations and sizes in the
// unit that reads best.
import { html } from './lib.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const number = new Intl.NumberFormat();

/** The viewer's time zone, e.g. `Europe/Berlin`. */
export const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A date and time in the viewer's zone. */
export function when(ms) {
    return ms === null || ms === undefined ? '—' : dateTime.format(new Date(ms));
}

/** Hours and minutes, for chart axes. */
export function hhmm(ms) {
    return clock.format(new Date(ms));
}

/** `3 s ago`, `5 min ago`, … */
export function ago(ms) {
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
}

/** A `<time>` in the viewer's zone, with the relative age as its tooltip. */
export function Time({ ms }) {
    if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
    return html`<time datetime=${new Date(ms).toISOString()} title=${`${ago(ms)} (${zone})`}>${when(ms)}</time>`;
}

/** Microseconds as µs, ms or s. */
export function micros(us) {
    if (us === null || us === undefined) return '—';
    if (us < 1000) return `${us} µs`;
    if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
    return `${(us / 1_000_000).toFixed(2)} s`;
}

/** Bytes as B, KiB, MiB or GiB. */
export function bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A count with the viewer's digit grouping. */
export function count(n) {
    return number.format(n || 0);
}

/**
 * The last 8 characters of an id, for tables (the whole id is in the link's tooltip): the
 * first ones of a UUID v7 are its timestamp, the same for every run of the same minute.
 */
export function short(id) {
    return id ? `…${String(id).slice(-8)}` : '—';
}
