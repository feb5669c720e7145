// Paths under /ui/ are pages; the server answers every one of them with the same shell, so a
// page can be bookmarked, reloaded or opened in a new tab. Same-origin links to /ui/ are
// followed without a reload.
import { useEffect, useState } from './lib.js';

const listeners = new Set();

function here() {
    return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** Goes to `to` (a /ui/ path with its query), adding a history entry unless `replace`. */
export function navigate(to, { replace = false } = {}) {
    if (to === location.pathname + location.search) return;
    history[replace ? 'replaceState' : 'pushState'](null, '', to);
    for (const listener of listeners) listener();
    if (!replace) window.scrollTo(0, 0);
}

/** The current path and query; re-renders on every navigation. */
export function useLocation() {
    const [location, setLocation] = useState(here());
    useEffect(() => {
        const update = () => setLocation(here());
        listeners.add(update);
        window.addEventListener('popstate', update);
        return () => {
            listeners.delete(update);
            window.removeEventListener('popstate', update);
        };
    }, []);
    return location;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The named parts of `path` if it matches `pattern` (`/ui/blocks/:id`), else null. A named
 * part must be a UUID: anything else (`..%2F`, bad escapes) is no page, never part of an API
 * path.
 */
export function match(pattern, path) {
    const want = pattern.split('/');
    const got = path.replace(/\/$/, '').split('/');
    if (want.length !== got.length) return null;
    const params = {};
    for (let i = 0; i < want.length; i++) {
        if (want[i].startsWith(':')) {
            if (!UUID.test(got[i])) return null;
            params[want[i].slice(1)] = got[i].toLowerCase();
        } else if (want[i] !== got[i]) return null;
    }
    return params;
}

document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href]');
    if (!link || link.target || link.hasAttribute('download') || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith('/ui/')) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
});
