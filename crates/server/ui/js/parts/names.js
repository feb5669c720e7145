// The team's blocks, docs and webhooks by id, for showing names instead of ids and for the
// filters' choices. Loaded once per page view; an execute key may not list them (as in the
// API), and then ids are shown.
import { api } from '../api.js';
import { short } from '../format.js';
import { useLoad } from './ui.js';

/** { blocks, docs, webhooks } (arrays) and `name(kind, id)`; null while loading. */
export function useNames() {
    const state = useLoad(async () => {
        const [blocks, docs, webhooks] = await Promise.all([
            api('GET', '/v1/blocks').catch(() => []),
            api('GET', '/v1/docs').catch(() => []),
            api('GET', '/v1/webhooks').catch(() => []),
        ]);
        const byId = new Map([...blocks, ...docs, ...webhooks].map((item) => [item.id, item.name]));
        return { blocks, docs, webhooks, name: (id) => (id && byId.get(id)) || short(id) };
    }, []);
    return state.data;
}
