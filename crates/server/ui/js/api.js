// The JSON API, called with the session cookie (sent by the browser, never read here) and,
// on changes, the CSRF token the sign-in answer gave us. Errors carry the API's code and
// message, so pages can show what went wrong in the API's own words.

let csrfToken = null;

/** Remembers the CSRF token of the current session (null when signed out). */
export function setCsrfToken(token) {
    csrfToken = token;
}

/** An API answer outside 2xx: `status`, the stable `code` and the API's message. */
export class ApiError extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

/**
 * Calls the API. `body` is sent as JSON; `bytes` (an ArrayBuffer) as `contentType`.
 * Resolves to the parsed answer (null when empty); rejects with an ApiError.
 */
export async function api(method, path, { body, bytes, contentType } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
    let payload;
    if (bytes !== undefined) {
        payload = bytes;
        headers['Content-Type'] = contentType || 'application/octet-stream';
    } else if (body !== undefined) {
        payload = JSON.stringify(body);
        headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
        response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    } catch (error) {
        throw new ApiError(0, 'NETWORK', `The server could not be reached (${error.message}).`);
    }
    const text = await response.text();
    let json = null;
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = null;
        }
    }
    if (!response.ok) {
        const error = new ApiError(
            response.status,
            (json && json.error_code) || String(response.status),
            (json && json.error) || text || response.statusText,
        );
        if (response.status === 401 && path !== '/ui/api/session') {
            window.dispatchEvent(new CustomEvent('wasmhook:signed-out', { detail: error.message }));
        }
        if (error.code === 'CSRF') {
            // Another tab signed in with another key: this page's token is stale.
            window.dispatchEvent(new CustomEvent('wasmhook:session-changed'));
            error.message = 'Your session changed in another tab; the page now uses it. Try again.';
        }
        throw error;
    }
    return json;
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
        if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : '';
}
