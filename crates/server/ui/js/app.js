// The dashboard: signs in with an API key (exchanged for an HttpOnly session cookie; the key
// is kept nowhere in the browser), then routes /ui/… paths to their pages.
import { html, render, useEffect, useRef, useState } from './lib.js';
import { api, setCsrfToken } from './api.js';
import { match, navigate, useLocation } from './router.js';
import { Notice } from './parts/ui.js';
import { SignIn } from './pages/signin.js';
import { Overview } from './pages/overview.js';
import { Executions } from './pages/executions.js';
import { ExecutionPage } from './pages/execution.js';
import { Blocks } from './pages/blocks.js';
import { BlockPage } from './pages/block.js';
import { Docs, DocPage } from './pages/docs.js';
import { Webhooks } from './pages/webhooks.js';
import { WebhookPage } from './pages/webhook.js';

// [pattern, page, admin only]. Blocks, docs and webhooks are admin-only, as in the API: their
// settings and URLs are capabilities an execute key (often a sender's) must not learn.
const PAGES = [
    ['/ui', Overview, false],
    ['/ui/executions', Executions, false],
    ['/ui/executions/:id', ExecutionPage, false],
    ['/ui/blocks', Blocks, true],
    ['/ui/blocks/:id', BlockPage, true],
    ['/ui/docs', Docs, true],
    ['/ui/docs/:id', DocPage, true],
    ['/ui/webhooks', Webhooks, true],
    ['/ui/webhooks/:id', WebhookPage, true],
];

const NAV = [
    ['/ui/', 'Overview', false],
    ['/ui/executions', 'Executions', false],
    ['/ui/blocks', 'Blocks', true],
    ['/ui/docs', 'Docs', true],
    ['/ui/webhooks', 'Webhooks', true],
];

function Nav({ path, admin }) {
    const current = (to) => (to === '/ui/' ? path === '/ui/' || path === '/ui' : path.startsWith(to));
    return html`<nav aria-label="Main"><ul>
        ${NAV.filter(([, , adminOnly]) => admin || !adminOnly).map(([to, label]) => html`<li><a href=${to} aria-current=${current(to) ? 'page' : undefined}>${label}</a></li>`)}
    </ul></nav>`;
}

function AdminOnly() {
    return html`<h1>Needs an admin key</h1>
        <p>Blocks, docs and webhooks are managed with an admin key of your team. This key has the <strong>execute</strong> scope: it can see the <a href="/ui/executions">executions</a> and the <a href="/ui/">overview</a>.</p>`;
}

function Shell({ session, onSignOut }) {
    const location = useLocation();
    const admin = session.scope === 'admin';
    let page = null;
    for (const [pattern, Page, adminOnly] of PAGES) {
        const params = match(pattern, location.path);
        if (params) {
            page = adminOnly && !admin ? html`<${AdminOnly} />` : html`<${Page} ...${params} query=${location.params} session=${session} />`;
            break;
        }
    }
    const title = NAV.find(([to]) => to !== '/ui/' && location.path.startsWith(to));
    const first = useRef(true);
    useEffect(() => {
        document.title = `${title ? title[1] : 'Overview'} · wasmhook`;
        // After a navigation, focus moves to the new content (as a page load would put it at
        // the top), so keyboard and screen-reader users start there.
        if (first.current) first.current = false;
        else document.getElementById('main')?.focus({ preventScroll: true });
    }, [location.path]);
    return html`
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
            <a class="brand" href="/ui/">wasmhook</a>
            <${Nav} path=${location.path} admin=${admin} />
            <div class="who">
                <span data-testid="team-name">${session.teamName}</span>
                <span class=${`badge scope-${session.scope}`} title=${session.scope === 'admin' ? 'This key may change things' : 'This key may look, not change'}>${session.scope}</span>
                <button type="button" class="button small" onClick=${onSignOut}>Sign out</button>
            </div>
        </header>
        <main id="main" tabindex="-1">
            ${page || html`<h1>Not found</h1><p>There is no page at ${location.path}. <a href="/ui/">Go to the overview</a>.</p>`}
        </main>`;
}

function App() {
    const [session, setSession] = useState(undefined);
    const [notice, setNotice] = useState(null);
    const adopt = (info) => {
        setCsrfToken(info ? info.csrfToken : null);
        setSession(info);
    };
    useEffect(() => {
        api('GET', '/ui/api/session').then(adopt, () => adopt(null));
        const signedOut = (event) => {
            setNotice(event.detail);
            adopt(null);
        };
        const changed = () => api('GET', '/ui/api/session').then(adopt, () => adopt(null));
        window.addEventListener('wasmhook:signed-out', signedOut);
        window.addEventListener('wasmhook:session-changed', changed);
        return () => {
            window.removeEventListener('wasmhook:signed-out', signedOut);
            window.removeEventListener('wasmhook:session-changed', changed);
        };
    }, []);
    const signOut = async () => {
        await api('DELETE', '/ui/api/session').catch(() => null);
        adopt(null);
        navigate('/ui/');
    };
    if (session === undefined) return html`<p class="muted center" aria-busy="true">Loading…</p>`;
    if (session === null) {
        return html`<main id="main" class="signin-page">
            <${Notice} kind="error">${notice}<//>
            <${SignIn} onSignedIn=${(info) => { setNotice(null); adopt(info); }} />
        </main>`;
    }
    return html`<${Shell} session=${session} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
