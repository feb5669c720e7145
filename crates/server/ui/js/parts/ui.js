// Small pieces every page uses: status badges, notices, empty states, copy buttons,
// collapsible payloads, and a hook that loads data and can reload it.
import { html, useCallback, useEffect, useRef, useState } from '../lib.js';

const STATUS_LABELS = {
    queued: 'queued',
    running: 'running',
    scheduled: 'scheduled',
    succeeded: 'succeeded',
    failed: 'failed',
    timed_out: 'timed out',
    dead: 'dead letter',
};

/** Every execution status, in the order the dashboard lists them. */
export const STATUSES = Object.keys(STATUS_LABELS);

/** Statuses after which nothing will change. */
export function isFinal(status) {
    return ['succeeded', 'failed', 'timed_out', 'dead'].includes(status);
}

/** A status as a coloured label (the text says it too: colour is never the only cue). */
export function Status({ status }) {
    return html`<span class=${`badge status-${status}`}>${STATUS_LABELS[status] || status}</span>`;
}

/** A message for the reader: `error` (announced at once), `success` or `info`. */
export function Notice({ kind = 'info', children }) {
    if (!children) return null;
    return html`<div class=${`notice notice-${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>${children}</div>`;
}

/** What a list shows when it has nothing: why, and what to do about it. */
export function Empty({ title, children }) {
    return html`<div class="empty"><p class="empty-title">${title}</p>${children && html`<p>${children}</p>`}</div>`;
}

/** A button that copies `text` and says so. */
export function CopyButton({ text, label = 'Copy', testId }) {
    const [copied, setCopied] = useState(false);
    const copy = async () => {
        try {
            await navigator.clipboard.writeText(text);
        } catch {
            const area = document.createElement('textarea');
            area.value = text;
            document.body.append(area);
            area.select();
            document.execCommand('copy');
            area.remove();
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
    };
    return html`<button type="button" class="button small" onClick=${copy} data-testid=${testId}>
        ${copied ? 'Copied' : label}<span class="visually-hidden" aria-live="polite">${copied ? ' to the clipboard' : ''}</span>
    </button>`;
}

/** Pretty JSON of `value`, or `text` as is; long ones folded behind a summary. */
export function Payload({ value, text, label = 'payload', testId }) {
    const shown = text !== undefined ? text : JSON.stringify(value, null, 2);
    const lines = shown.split('\n').length;
    const body = html`<pre class="payload" data-testid=${testId} tabindex="0">${shown}</pre>`;
    if (lines <= 24 && shown.length <= 2000) return body;
    return html`<details class="fold"><summary>Show ${label} (${lines} lines, ${shown.length} characters)</summary>${body}</details>`;
}

/** A term and its description in a `<dl>`. */
export function Fact({ term, children }) {
    return html`<div class="fact"><dt>${term}</dt><dd>${children}</dd></div>`;
}

/**
 * Loads `load()` now and whenever `deps` change; `every` ms, reloads quietly while mounted.
 * Returns { data, error, loading, reload }.
 */
export function useLoad(load, deps, every = 0) {
    // The data remembers which deps it was loaded for: after a change (another execution's
    // page), the previous subject's data is never rendered, not even before the reload starts.
    const key = JSON.stringify(deps);
    const [state, setState] = useState({ data: null, error: null, loading: true, key });
    const generation = useRef(0);
    // Polls call the latest `load`, not the first render's (whose clock and filters are old).
    const latest = useRef(load);
    latest.current = load;
    const run = useCallback(async (quiet) => {
        const mine = ++generation.current;
        if (!quiet) setState({ data: null, error: null, loading: true, key });
        try {
            const data = await latest.current();
            if (mine === generation.current) setState({ data, error: null, loading: false, key });
        } catch (error) {
            if (mine === generation.current) setState((s) => ({ data: quiet ? s.data : null, error, loading: false, key }));
        }
    }, deps);
    useEffect(() => {
        run(false);
    }, [run]);
    useEffect(() => {
        if (!every) return undefined;
        const timer = setInterval(() => {
            if (!document.hidden) run(true);
        }, every);
        return () => clearInterval(timer);
    }, [run, every]);
    const current = state.key === key ? state : { data: null, error: null, loading: true };
    return { ...current, reload: () => run(true) };
}

/** The standard view of a load: its error, a loading line, or `children(data)`. */
export function Loaded({ state, children }) {
    // One root element whatever is shown, so that switching from the loading line to the
    // content never reorders the page around it.
    if (state.error && !state.data) return html`<div class="loaded"><${Notice} kind="error">${state.error.message}<//></div>`;
    if (!state.data) return html`<div class="loaded"><p class="muted" aria-busy="true">Loading…</p></div>`;
    return html`<div class="loaded">${children(state.data)}</div>`;
}

/**
 * A button running `action()`; while it runs it is disabled, and its error (or `done` text)
 * is shown next to it.
 */
export function Action({ action, children, kind = '', confirm: question, disabled, testId, done }) {
    const [busy, setBusy] = useState(false);
    const [message, setMessage] = useState(null);
    const click = async () => {
        if (question && !window.confirm(question)) return;
        setBusy(true);
        setMessage(null);
        try {
            await action();
            if (done) setMessage({ kind: 'success', text: done });
        } catch (error) {
            setMessage({ kind: 'error', text: error.message });
        } finally {
            setBusy(false);
        }
    };
    return html`<span class="action">
        <button type="button" class=${`button ${kind}`} onClick=${click} disabled=${busy || disabled} data-testid=${testId}>${children}</button>
        ${message && html`<span class=${`inline-${message.kind}`} role=${message.kind === 'error' ? 'alert' : 'status'}>${message.text}</span>`}
    </span>`;
}
