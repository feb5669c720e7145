// One webhook's whole lifecycle (Fleet's and Powabase's in one screen): copy the URL, arm it
// for one call, enable or disable it, rotate its secret with a grace period, regenerate the
// URL, set or remove a signature scheme, delete it.
import { html, useState } from '../lib.js';
import { api, query } from '../api.js';
import { navigate } from '../router.js';
import { Time } from '../format.js';
import { Action, Fact, Loaded, Notice, useLoad } from '../parts/ui.js';
import { useNames } from '../parts/names.js';
import { OnceSecret, State, Url } from './webhooks.js';

const SCHEMES = [
    ['standard_webhooks', 'Standard Webhooks (Svix)'],
    ['stripe', 'Stripe'],
    ['github', 'GitHub'],
    ['slack', 'Slack'],
];

function Lifecycle({ webhook, onChanged }) {
    const [ttl, setTtl] = useState('3600');
    const [grace, setGrace] = useState('0');
    const [secret, setSecret] = useState(null);
    const path = `/v1/webhooks/${webhook.id}`;
    const act = (suffix, body) => async () => onChanged(await api('POST', `${path}/${suffix}`, { body }));
    const rotate = async () => {
        const rotated = await api('POST', `${path}/rotate-secret`, { body: { graceSeconds: Number(grace) || 0 } });
        setSecret(rotated.secret);
        onChanged(rotated);
    };
    const regenerate = async () => {
        const moved = await api('POST', `${path}/regenerate-url`);
        navigate(`/ui/webhooks/${moved.id}`, { replace: true });
    };
    const remove = async () => {
        await api('DELETE', path);
        navigate('/ui/webhooks');
    };
    return html`<section class="card" aria-label="Lifecycle">
        <h2>State</h2>
        <div class="actions">
            <label class="field inline"><span>Arm for</span><input type="number" min="1" value=${ttl} onInput=${(e) => setTtl(e.target.value)} aria-label="Seconds the single call may come" /> s</label>
            <${Action} action=${act('arm', { ttlSeconds: Number(ttl) || 3600 })} testId="arm">Arm for one call<//>
            <${Action} action=${act('enable')} disabled=${webhook.state === 'deployed'} testId="enable">Enable<//>
            <${Action} action=${act('disable')} disabled=${webhook.state === 'disabled'} testId="disable">Disable<//>
        </div>
        ${webhook.auth === 'secret' && html`<h2>Secret</h2>
            <p>Ends in <code>${webhook.secretHint}</code>.${webhook.previousSecretExpiresAt ? html` The previous one works until <${Time} ms=${webhook.previousSecretExpiresAt} />.` : ''}</p>
            <div class="actions">
                <label class="field inline"><span>Keep the old one for</span><input type="number" min="0" max="604800" value=${grace} onInput=${(e) => setGrace(e.target.value)} aria-label="Grace period in seconds" /> s</label>
                <${Action} action=${rotate} testId="rotate">Rotate secret<//>
            </div>
            <${OnceSecret} secret=${secret} />`}
        <h2>URL</h2>
        <div class="actions">
            <${Action} action=${regenerate} confirm="Give this webhook a new URL? The old URL stops working at once (410)." testId="regenerate">Regenerate URL<//>
            <${Action} kind="danger" action=${remove} confirm="Delete this webhook? Its URL stops working at once (410)." testId="delete">Delete webhook<//>
        </div>
    </section>`;
}

function Signature({ webhook, onChanged }) {
    const [scheme, setScheme] = useState(webhook.signature ? webhook.signature.scheme : 'standard_webhooks');
    const [secret, setSecret] = useState('');
    const [message, setMessage] = useState(null);
    const path = `/v1/webhooks/${webhook.id}/signature`;
    const save = async (event) => {
        event.preventDefault();
        setMessage(null);
        try {
            onChanged(await api('PUT', path, { body: { scheme, secrets: [secret] } }));
            setSecret('');
            setMessage({ kind: 'success', text: 'Signatures are now checked.' });
        } catch (failure) {
            setMessage({ kind: 'error', text: failure.message });
        }
    };
    return html`<form class="card" onSubmit=${save} aria-label="Signature">
        <h2>Signature check</h2>
        <p>${webhook.signature
            ? html`Checked: <strong>${webhook.signature.scheme}</strong>, secrets ending in ${webhook.signature.secretHints.join(', ')}.`
            : 'Not checked: set the sender\u2019s scheme and signing secret to refuse unsigned calls.'}</p>
        <div class="row">
            <label class="field"><span>Scheme</span><select value=${scheme} onChange=${(e) => setScheme(e.target.value)}>${SCHEMES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
            <label class="field"><span>Signing secret (from the sender)</span><input type="password" autocomplete="off" required value=${secret} onInput=${(e) => setSecret(e.target.value)} /></label>
        </div>
        <button class="button primary" type="submit" disabled=${!secret}>Save signature check</button>
        ${webhook.signature && html` <${Action} action=${async () => { await api('DELETE', path); onChanged(await api('GET', `/v1/webhooks/${webhook.id}`)); }}>Remove<//>`}
        ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    </form>`;
}

export function WebhookPage({ id, session }) {
    const state = useLoad(() => api('GET', `/v1/webhooks/${id}`), [id]);
    const names = useNames();
    const admin = session.scope === 'admin';
    return html`<${Loaded} state=${state}>${(w) => html`
        <p class="crumbs"><a href="/ui/webhooks">Webhooks</a> /</p>
        <h1 class="title-row">${w.name} <${State} webhook=${w} /></h1>
        <${Url} url=${w.url} />
        <dl class="facts">
            <${Fact} term="Runs">${w.target.type} <a href=${`/ui/${w.target.type}s/${w.target.id}`}>${names ? names.name(w.target.id) : w.target.id}</a><//>
            <${Fact} term="Senders prove themselves with">${w.auth === 'secret' ? 'a secret' : 'the URL'}${w.signature ? ' and a signature' : ''}<//>
            <${Fact} term="Answer">${w.settings.responseMode || 'sync'}<//>
            ${w.armedUntil && html`<${Fact} term="Armed until"><${Time} ms=${w.armedUntil} /><//>`}
            <${Fact} term="Created"><${Time} ms=${w.createdAt} /><//>
        </dl>
        <p><a href=${`/ui/executions${query({ webhook: w.id })}`}>Executions of this webhook</a></p>
        ${admin ? html`<${Lifecycle} webhook=${w} onChanged=${state.reload} /><${Signature} webhook=${w} onChanged=${state.reload} />` : html`<p class="muted">Changing a webhook needs an admin key.</p>`}`}<//>`;
}
