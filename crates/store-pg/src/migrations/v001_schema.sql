-- wasmhook on PostgreSQL, schema 1: SQLite's schema versions 1-10 consolidated, plus what
-- several nodes need (execution leases, cluster-wide jobs).
--
-- Types: ids are uuid; every integer and every ms timestamp is bigint (tokio-postgres maps i64
-- to INT8 only); flags are boolean; byte strings are bytea. Stored JSON stays text, not jsonb:
-- the API returns some of it verbatim (outputs, inputs, settings) and a callback's payload is a
-- signed body, and jsonb would reorder keys and drop whitespace. Columns sorted or range-scanned
-- by text use COLLATE "C", the byte order SQLite's BINARY collation gives.

CREATE FUNCTION wh_now_ms() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    operator boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL
);
CREATE TABLE users (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams(id),
    name text NOT NULL,
    created_at bigint NOT NULL
);
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    secret_hash bytea NOT NULL,
    scope text NOT NULL CHECK (scope IN ('admin', 'execute')),
    label text,
    hint text NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE wasm_blobs (
    digest text PRIMARY KEY,
    chunks bigint NOT NULL
);
CREATE TABLE wasm_blob_chunks (
    digest text NOT NULL,
    seq bigint NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (digest, seq)
);
-- 1 MiB chunks of compiled-elsewhere wasm do not compress: skip pglz.
ALTER TABLE wasm_blob_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

CREATE TABLE blocks (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams(id),
    name text NOT NULL,
    language text NOT NULL,
    active_version bigint,
    env text NOT NULL DEFAULT '{}',
    timeout_ms bigint,
    fuel bigint,
    memory_bytes bigint,
    idempotency_pointer text,
    store_payload boolean NOT NULL DEFAULT true,
    network text NOT NULL DEFAULT '{}',
    key_value text NOT NULL DEFAULT '{}',
    retry text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX blocks_team ON blocks(team_id);
CREATE TABLE block_versions (
    block_id uuid NOT NULL REFERENCES blocks(id),
    version bigint NOT NULL,
    digest text NOT NULL REFERENCES wasm_blobs(digest),
    size bigint NOT NULL,
    shape text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (block_id, version)
);

CREATE TABLE docs (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams(id),
    name text NOT NULL,
    archived_at bigint,
    idempotency_pointer text,
    store_payload boolean NOT NULL DEFAULT true,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX docs_team ON docs(team_id);
CREATE TABLE datasets (
    doc_id uuid NOT NULL REFERENCES docs(id),
    position bigint NOT NULL,
    key text NOT NULL,
    block_id uuid NOT NULL REFERENCES blocks(id),
    version bigint,
    timeout_ms bigint,
    retry text,
    PRIMARY KEY (doc_id, key)
);

CREATE TABLE executions (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL,
    block_id uuid NOT NULL,
    block_version bigint NOT NULL,
    doc_id uuid,
    dataset_key text,
    webhook_id uuid,
    trigger text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('scheduled', 'queued', 'running', 'succeeded', 'failed', 'timed_out', 'dead')),
    error_kind text,
    error_message text,
    error_code text,
    output text,
    logs text NOT NULL DEFAULT '[]',
    logs_dropped_bytes bigint NOT NULL DEFAULT 0,
    fuel_consumed bigint NOT NULL DEFAULT 0,
    duration_us bigint NOT NULL DEFAULT 0,
    peak_memory_bytes bigint NOT NULL DEFAULT 0,
    outbound text,
    input text,
    keep_input boolean NOT NULL DEFAULT true,
    timeout_ms bigint,
    replay_of uuid,
    replay_job uuid,
    attempt bigint NOT NULL DEFAULT 1,
    retry_of uuid,
    retry text,
    not_before bigint,
    created_at bigint NOT NULL,
    started_at bigint,
    finished_at bigint,
    -- Claims so far; also the fencing token a run's record must still match.
    attempts bigint NOT NULL DEFAULT 0,
    -- The node holding the row (random per process start), until lease_until (ms, DB clock).
    lease_owner uuid,
    lease_until bigint
);
CREATE INDEX executions_team_created ON executions(team_id, created_at DESC);
CREATE INDEX executions_block ON executions(block_id, created_at DESC);
CREATE INDEX executions_doc ON executions(doc_id, created_at DESC) WHERE doc_id IS NOT NULL;
CREATE INDEX executions_webhook ON executions(webhook_id, created_at DESC) WHERE webhook_id IS NOT NULL;
CREATE INDEX executions_queued ON executions(created_at, id) WHERE status = 'queued';
CREATE INDEX executions_leased ON executions(lease_until) WHERE status IN ('queued', 'running');
CREATE INDEX executions_scheduled ON executions(not_before) WHERE status = 'scheduled';
CREATE INDEX executions_retry_of ON executions(retry_of, attempt) WHERE retry_of IS NOT NULL;
CREATE INDEX executions_replay_job ON executions(replay_job, status) WHERE replay_job IS NOT NULL;

CREATE TABLE deliveries (
    team_id uuid NOT NULL,
    target uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_hash bytea NOT NULL,
    execution_ids uuid[] NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (team_id, target, idempotency_key)
);
CREATE INDEX deliveries_created ON deliveries(created_at);

CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams(id),
    name text NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('block', 'doc')),
    target_id uuid NOT NULL,
    auth_mode text NOT NULL CHECK (auth_mode IN ('secret', 'none')),
    secret_hash bytea,
    secret_hint text,
    previous_secret_hash bytea,
    previous_secret_expires_at bigint,
    state text NOT NULL CHECK (state IN ('deployed', 'armed', 'disabled')),
    armed_until bigint,
    settings text NOT NULL,
    signature text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX webhooks_team ON webhooks(team_id, created_at);
CREATE INDEX webhooks_target ON webhooks(target_id);
CREATE TABLE removed_webhooks (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL,
    replaced_by uuid,
    removed_at bigint NOT NULL
);

CREATE TABLE secrets (
    team_id uuid NOT NULL,
    name text COLLATE "C" NOT NULL,
    sealed text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (team_id, name)
);

CREATE TABLE kv (
    team_id uuid NOT NULL,
    bucket text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    version bigint NOT NULL,
    expires_at bigint,
    updated_at bigint NOT NULL,
    PRIMARY KEY (team_id, bucket, key)
);
CREATE INDEX kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE kv_usage (
    team_id uuid PRIMARY KEY,
    bytes bigint NOT NULL
);

CREATE TABLE callbacks (
    team_id uuid NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('block', 'doc', 'webhook')),
    target_id uuid PRIMARY KEY,
    url text NOT NULL,
    events text NOT NULL,
    sealed_secret text NOT NULL,
    secret_hint text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX callbacks_team ON callbacks(team_id, created_at);
CREATE TABLE callback_messages (
    id text PRIMARY KEY,
    team_id uuid NOT NULL,
    target_id uuid NOT NULL,
    execution_id uuid NOT NULL,
    event text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts bigint NOT NULL DEFAULT 0,
    next_attempt_at bigint,
    last_status bigint,
    last_error text,
    created_at bigint NOT NULL,
    delivered_at bigint
);
CREATE INDEX callback_messages_due ON callback_messages(next_attempt_at) WHERE status = 'pending';
CREATE INDEX callback_messages_execution ON callback_messages(execution_id);

CREATE TABLE replay_jobs (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL,
    filter text NOT NULL,
    version bigint,
    execution_ids uuid[] NOT NULL,
    matched bigint NOT NULL,
    submitted bigint NOT NULL DEFAULT 0,
    skipped bigint NOT NULL DEFAULT 0,
    state text NOT NULL CHECK (state IN ('running', 'submitted', 'cancelled')),
    error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    -- The node resuming the job after a restart, until runner_until (ms, DB clock).
    runner_owner uuid,
    runner_until bigint
);
CREATE INDEX replay_jobs_team ON replay_jobs(team_id, created_at DESC);

-- Jobs that run once cluster-wide per period (retention), gated by their last run.
CREATE TABLE cluster_jobs (
    name text PRIMARY KEY,
    last_run_at bigint NOT NULL DEFAULT 0
);
