-- Cross-node cache invalidation. Every node caches blocks, docs, trigger webhooks and users'
-- active keys; every change to one of those rows, by any node (or by hand), is announced on
-- the channel wasmhook_cache as '<kind> <id>'. A trigger rather than code in each write: no
-- write path can forget it, and NOTIFY is transactional, so the announcement is delivered at
-- commit and never for a rolled-back change. The old row's id is the one announced (an
-- UPDATE that gives a webhook a new id must drop the old id's entry; the new id was never
-- cached).

CREATE FUNCTION wh_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb := to_jsonb(CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END);
BEGIN
    PERFORM pg_notify('wasmhook_cache', TG_ARGV[0] || ' ' || (changed ->> TG_ARGV[1]));
    RETURN NULL;
END $$;

CREATE TRIGGER blocks_cache AFTER UPDATE OR DELETE ON blocks
    FOR EACH ROW EXECUTE FUNCTION wh_notify_cache('b', 'id');
CREATE TRIGGER docs_cache AFTER UPDATE OR DELETE ON docs
    FOR EACH ROW EXECUTE FUNCTION wh_notify_cache('d', 'id');
CREATE TRIGGER datasets_cache AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH ROW EXECUTE FUNCTION wh_notify_cache('d', 'doc_id');
CREATE TRIGGER webhooks_cache AFTER UPDATE OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION wh_notify_cache('w', 'id');
CREATE TRIGGER api_keys_cache AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION wh_notify_cache('k', 'user_id');
