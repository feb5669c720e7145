//! The schema, versioned with `PRAGMA user_version`. Migrations only ever append.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: tenancy, blocks, docs, executions.
    r#"
    CREATE TABLE teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        operator INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        secret_hash BLOB NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('admin', 'execute')),
        label TEXT,
        hint TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE INDEX api_keys_user ON api_keys(user_id);

    CREATE TABLE wasm_blobs (
        digest TEXT PRIMARY KEY,
        bytes BLOB NOT NULL
    );
    CREATE TABLE blocks (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        language TEXT NOT NULL,
        active_version INTEGER,
        env TEXT NOT NULL DEFAULT '{}',
        timeout_ms INTEGER,
        fuel INTEGER,
        memory_bytes INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX blocks_team ON blocks(team_id);
    CREATE TABLE block_versions (
        block_id TEXT NOT NULL REFERENCES blocks(id),
        version INTEGER NOT NULL,
        digest TEXT NOT NULL REFERENCES wasm_blobs(digest),
        size INTEGER NOT NULL,
        shape TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (block_id, version)
    );

    CREATE TABLE docs (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        archived_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX docs_team ON docs(team_id);
    CREATE TABLE datasets (
        doc_id TEXT NOT NULL REFERENCES docs(id),
        position INTEGER NOT NULL,
        key TEXT NOT NULL,
        block_id TEXT NOT NULL REFERENCES blocks(id),
        version INTEGER,
        timeout_ms INTEGER,
        PRIMARY KEY (doc_id, key)
    );

    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        block_id TEXT NOT NULL,
        block_version INTEGER NOT NULL,
        doc_id TEXT,
        dataset_key TEXT,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        error_kind TEXT,
        error_message TEXT,
        error_code TEXT,
        output TEXT,
        logs TEXT NOT NULL DEFAULT '[]',
        logs_dropped_bytes INTEGER NOT NULL DEFAULT 0,
        fuel_consumed INTEGER NOT NULL DEFAULT 0,
        duration_us INTEGER NOT NULL DEFAULT 0,
        peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
        input TEXT,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE INDEX executions_team_created ON executions(team_id, created_at DESC);
    CREATE INDEX executions_block ON executions(block_id, created_at DESC);
    CREATE INDEX executions_doc ON executions(doc_id, created_at DESC);
    "#,
    // 2: the durable queue, idempotent deliveries, replay links and payload retention.
    r#"
    ALTER TABLE executions ADD COLUMN timeout_ms INTEGER;
    ALTER TABLE executions ADD COLUMN replay_of TEXT;
    ALTER TABLE executions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE executions ADD COLUMN started_at INTEGER;
    ALTER TABLE executions ADD COLUMN keep_input INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX executions_unfinished ON executions(created_at) WHERE status IN ('queued', 'running');
    CREATE TABLE deliveries (
        team_id TEXT NOT NULL,
        target TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash BLOB NOT NULL,
        execution_ids TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, target, idempotency_key)
    );
    CREATE INDEX deliveries_created ON deliveries(created_at);
    ALTER TABLE blocks ADD COLUMN idempotency_pointer TEXT;
    ALTER TABLE blocks ADD COLUMN store_payload INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE docs ADD COLUMN idempotency_pointer TEXT;
    ALTER TABLE docs ADD COLUMN store_payload INTEGER NOT NULL DEFAULT 1;
    "#,
    // 3: trigger webhooks (capability URLs with per-webhook secrets) and the URLs they left.
    r#"
    CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        target_kind TEXT NOT NULL CHECK (target_kind IN ('block', 'doc')),
        target_id TEXT NOT NULL,
        auth_mode TEXT NOT NULL CHECK (auth_mode IN ('secret', 'none')),
        secret_hash BLOB,
        secret_hint TEXT,
        previous_secret_hash BLOB,
        previous_secret_expires_at INTEGER,
        state TEXT NOT NULL CHECK (state IN ('deployed', 'armed', 'disabled')),
        armed_until INTEGER,
        settings TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX webhooks_team ON webhooks(team_id, created_at);
    CREATE INDEX webhooks_target ON webhooks(target_id);
    CREATE TABLE removed_webhooks (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        replaced_by TEXT,
        removed_at INTEGER NOT NULL
    );
    ALTER TABLE executions ADD COLUMN webhook_id TEXT;
    CREATE INDEX executions_webhook ON executions(webhook_id, created_at DESC) WHERE webhook_id IS NOT NULL;
    "#,
    // 4: senders' signature checks on trigger webhooks (scheme, signing secrets, tolerance).
    r#"
    ALTER TABLE webhooks ADD COLUMN signature TEXT;
    "#,
    // 5: block and trigger runs have no doc; index only the rows that do (one index entry
    // fewer per recorded run). `doc_id = ?` implies `doc_id IS NOT NULL`, so lookups use it.
    r#"
    DROP INDEX executions_doc;
    CREATE INDEX executions_doc ON executions(doc_id, created_at DESC) WHERE doc_id IS NOT NULL;
    "#,
    // 6: components stored in 1 MiB chunks, each its own writer job (see `blobs.rs`); rows
    // written before keep their bytes inline (`chunks = 0`).
    r#"
    ALTER TABLE wasm_blobs ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE wasm_blob_chunks (
        digest TEXT NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (digest, seq)
    );
    "#,
    // 7: outbound HTTP: a block's network policy, and the calls each execution made.
    r#"
    ALTER TABLE blocks ADD COLUMN network TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE executions ADD COLUMN outbound TEXT;
    "#,
    // 8: team secrets, sealed under the master key (see `sealing`); values never in
    // plain text.
    r#"
    CREATE TABLE secrets (
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        sealed TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, name)
    );
    "#,
    // 9: key-value state (`wasi:keyvalue`, `/v1/kv`): one namespace per team, a version per
    // value for compare-and-swap, an optional expiry, and each team's bytes for its quota.
    r#"
    CREATE TABLE kv (
        team_id TEXT NOT NULL,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        version INTEGER NOT NULL,
        expires_at INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, bucket, key)
    ) WITHOUT ROWID;
    CREATE INDEX kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE kv_usage (
        team_id TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE blocks ADD COLUMN key_value TEXT NOT NULL DEFAULT '{}';
    "#,
    // 10: delivery guarantees. Retries: each attempt is its own execution (`attempt`, `retry_of`
    // = the first attempt), the policy it was accepted with (`retry`, JSON) and, while it
    // waits, its time (`not_before`, status `scheduled`). Blocks and datasets name a policy.
    // Completion callbacks (sealed `whsec_` secrets) and their durable messages; bulk replays.
    r#"
    ALTER TABLE executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE executions ADD COLUMN retry_of TEXT;
    ALTER TABLE executions ADD COLUMN retry TEXT;
    ALTER TABLE executions ADD COLUMN not_before INTEGER;
    ALTER TABLE executions ADD COLUMN replay_job TEXT;
    CREATE INDEX executions_scheduled ON executions(not_before) WHERE status = 'scheduled';
    CREATE INDEX executions_retry_of ON executions(retry_of, attempt) WHERE retry_of IS NOT NULL;
    CREATE INDEX executions_replay_job ON executions(replay_job, status) WHERE replay_job IS NOT NULL;
    ALTER TABLE blocks ADD COLUMN retry TEXT;
    ALTER TABLE datasets ADD COLUMN retry TEXT;
    CREATE TABLE callbacks (
        team_id TEXT NOT NULL,
        target_kind TEXT NOT NULL CHECK (target_kind IN ('block', 'doc', 'webhook')),
        target_id TEXT NOT NULL,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        sealed_secret TEXT NOT NULL,
        secret_hint TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (target_id)
    );
    CREATE INDEX callbacks_team ON callbacks(team_id, created_at);
    CREATE TABLE callback_messages (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        target_id TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
    );
    CREATE INDEX callback_messages_due ON callback_messages(next_attempt_at) WHERE status = 'pending';
    CREATE INDEX callback_messages_execution ON callback_messages(execution_id);
    CREATE TABLE replay_jobs (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        filter TEXT NOT NULL,
        version INTEGER,
        execution_ids TEXT NOT NULL,
        matched INTEGER NOT NULL,
        submitted INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('running', 'submitted', 'cancelled')),
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX replay_jobs_team ON replay_jobs(team_id, created_at DESC);
    "#,
    // 11: the dashboard. An execution keeps the idempotency key its delivery was sent with (the
    // claim on the key stays in `deliveries`); a key's dashboard sessions signed in before
    // `sessions_after` (ms) are over (sign-out).
    r#"
    ALTER TABLE executions ADD COLUMN idempotency_key TEXT;
    ALTER TABLE api_keys ADD COLUMN sessions_after INTEGER;
    "#,
    // 12: the listing indexes ascending (#20). With `created_at DESC` each new row went to
    // the index's leftmost leaf, and a leaf split there leaves both halves half full: 103 bytes
    // per entry instead of 59 (`bench/run --only records`). A backward scan of an ascending
    // index serves `ORDER BY created_at DESC` with the same plan. Rebuilds five indexes.
    r#"
    DROP INDEX executions_team_created;
    CREATE INDEX executions_team_created ON executions(team_id, created_at);
    DROP INDEX executions_block;
    CREATE INDEX executions_block ON executions(block_id, created_at);
    DROP INDEX executions_doc;
    CREATE INDEX executions_doc ON executions(doc_id, created_at) WHERE doc_id IS NOT NULL;
    DROP INDEX executions_webhook;
    CREATE INDEX executions_webhook ON executions(webhook_id, created_at) WHERE webhook_id IS NOT NULL;
    DROP INDEX replay_jobs_team;
    CREATE INDEX replay_jobs_team ON replay_jobs(team_id, created_at);
    "#,
];

/// Applies the migrations this database has not seen yet, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {current}, newer than this binary ({}); upgrade wasmhook",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doc_index_holds_only_doc_runs_and_serves_doc_lookups() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let sql: String = conn
            .query_row("SELECT sql FROM sqlite_master WHERE name = 'executions_doc'", [], |row| row.get(0))
            .expect("index");
        assert!(sql.contains("WHERE doc_id IS NOT NULL"), "{sql}");
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT id FROM executions WHERE doc_id = ?1 ORDER BY created_at DESC")
            .expect("plan")
            .query_map(["d"], |row| row.get(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(plan.iter().any(|step| step.contains("executions_doc")), "{plan:?}");
    }

    #[test]
    fn time_ordered_indexes_are_ascending_and_serve_newest_first_listings() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let descending: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%DESC%'")
            .expect("indexes")
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("names");
        assert!(descending.is_empty(), "new rows land in a DESC index's leftmost, half-filled leaf: {descending:?}");
        for (index, filter) in [
            ("executions_team_created", "team_id"),
            ("executions_block", "block_id"),
            ("executions_webhook", "webhook_id"),
        ] {
            let sql =
                format!("EXPLAIN QUERY PLAN SELECT id FROM executions WHERE {filter} = ?1 ORDER BY created_at DESC");
            let plan: Vec<String> = conn
                .prepare(&sql)
                .expect("plan")
                .query_map(["x"], |row| row.get(3))
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            assert!(plan.iter().any(|step| step.contains(index)), "{filter}: {plan:?}");
            assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{filter}: sorted by the index: {plan:?}");
        }
    }
}
