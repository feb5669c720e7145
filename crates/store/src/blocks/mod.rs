//! Blocks and their settings; their versions are in [`versions`].

use std::collections::BTreeMap;
use wasmhook_domain::ids::{BlockId, TeamId};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

mod versions;

pub use versions::{BlockVersion, StoredBlob};
pub(crate) use versions::{activate_version, insert_version, version, versions, wasm_bytes};

pub use super::block_settings::{
    Backoff, Credential, EnvValue, Injection, KeyValueSettings, NetworkSettings, RetryOn, RetrySettings, SecretRef,
};
use super::{StoreError, now_ms, uuid_at};

/// A block: a named component plus the config every run of it gets.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// Block id (the `{block_id}` of the v2 webhook).
    pub id: BlockId,
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// Display name.
    pub name: String,
    /// Source language (`rust`, `python`, …): names the v2 language-specific env object.
    pub language: String,
    /// The version webhooks run; `None` until a version is uploaded.
    pub active_version: Option<i64>,
    /// Saved environment variables (lowest precedence); a value may reference a secret.
    pub env: BTreeMap<String, EnvValue>,
    /// Wall-clock limit per run; `None` = the 6 s default.
    pub timeout_ms: Option<u64>,
    /// Fuel budget per run; `None` = derived from the timeout.
    pub fuel: Option<u64>,
    /// Memory cap per run in bytes; `None` = the server default.
    pub memory_bytes: Option<u64>,
    /// JSON pointer into `data` whose value is the delivery's idempotency key when no
    /// `Idempotency-Key` or `webhook-id` header is sent (e.g. `/request_id`).
    pub idempotency_pointer: Option<String>,
    /// `false`: an execution's input is dropped once it has run (replay then refuses).
    pub store_payload: bool,
    /// What the block may call over HTTP (nothing by default).
    pub network: NetworkSettings,
    /// The key-value buckets it may use (none by default).
    pub key_value: KeyValueSettings,
    /// How its queued deliveries are retried; `None`: the server's default (no retries unless
    /// the operator set `retry_default_max_attempts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySettings>,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
}

impl Block {
    /// The names of the secrets the block references (env values and credentials).
    pub fn secret_names(&self) -> std::collections::BTreeSet<String> {
        let in_env = self.env.values().filter_map(|value| match value {
            EnvValue::Secret(reference) => Some(reference.secret.clone()),
            EnvValue::Text(_) => None,
        });
        in_env.chain(self.network.credential_secrets().map(str::to_owned)).collect()
    }
}

/// The body of `POST /v1/blocks`.
#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBlock {
    /// Display name.
    pub name: String,
    /// Source language; default `rust`.
    #[serde(default = "default_language")]
    pub language: String,
    /// Saved env vars.
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
    /// Per-run wall-clock limit.
    pub timeout_ms: Option<u64>,
    /// Per-run fuel budget.
    pub fuel: Option<u64>,
    /// Per-run memory cap.
    pub memory_bytes: Option<u64>,
    /// JSON pointer to the idempotency key in `data`.
    pub idempotency_pointer: Option<String>,
    /// Keep execution inputs (default true).
    #[serde(default = "default_true")]
    pub store_payload: bool,
    /// Outbound HTTP policy (default: nothing allowed).
    #[serde(default)]
    pub network: NetworkSettings,
    /// Key-value buckets it may use (default: none).
    #[serde(default)]
    pub key_value: KeyValueSettings,
    /// Retry policy of its queued deliveries.
    #[serde(default)]
    pub retry: Option<RetrySettings>,
}

/// Serde default for flags that are on unless set.
pub fn default_true() -> bool {
    true
}

fn default_language() -> String {
    "rust".to_owned()
}

/// A block that references a secret its team does not have: the 422 every backend answers.
pub fn missing_secret(name: &str) -> StoreError {
    StoreError::Invalid(format!(
        "the block references secret {name:?}, which the team does not have (create it with PUT /v1/secrets/{name})"
    ))
}

/// The body of `PATCH /v1/blocks/{id}`: absent fields stay, `null` clears an optional limit.
#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockPatch {
    /// New name.
    pub name: Option<String>,
    /// New language.
    pub language: Option<String>,
    /// Replaces the saved env vars.
    pub env: Option<BTreeMap<String, EnvValue>>,
    /// New limit, or `null` for the default.
    #[serde(default, deserialize_with = "present")]
    pub timeout_ms: Option<Option<u64>>,
    /// New budget, or `null` for the default.
    #[serde(default, deserialize_with = "present")]
    pub fuel: Option<Option<u64>>,
    /// New cap, or `null` for the default.
    #[serde(default, deserialize_with = "present")]
    pub memory_bytes: Option<Option<u64>>,
    /// New pointer, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub idempotency_pointer: Option<Option<String>>,
    /// Keep execution inputs.
    pub store_payload: Option<bool>,
    /// Replaces the outbound HTTP policy.
    pub network: Option<NetworkSettings>,
    /// Replaces the key-value settings.
    pub key_value: Option<KeyValueSettings>,
    /// Replaces the retry policy, or `null` for the server's default.
    #[serde(default, deserialize_with = "present")]
    pub retry: Option<Option<RetrySettings>>,
}

impl BlockPatch {
    /// Applies the patch: absent fields stay, `null` ones clear. Every field is named, so a
    /// field added to the patch does not compile until it is applied; both backends use this.
    pub fn apply_to(self, block: &mut Block) {
        let Self {
            name,
            language,
            env,
            timeout_ms,
            fuel,
            memory_bytes,
            idempotency_pointer,
            store_payload,
            network,
            key_value,
            retry,
        } = self;
        if let Some(name) = name {
            block.name = name;
        }
        if let Some(language) = language {
            block.language = language;
        }
        if let Some(env) = env {
            block.env = env;
        }
        if let Some(timeout_ms) = timeout_ms {
            block.timeout_ms = timeout_ms;
        }
        if let Some(fuel) = fuel {
            block.fuel = fuel;
        }
        if let Some(memory_bytes) = memory_bytes {
            block.memory_bytes = memory_bytes;
        }
        if let Some(idempotency_pointer) = idempotency_pointer {
            block.idempotency_pointer = idempotency_pointer;
        }
        if let Some(store_payload) = store_payload {
            block.store_payload = store_payload;
        }
        if let Some(network) = network {
            block.network = network;
        }
        if let Some(key_value) = key_value {
            block.key_value = key_value;
        }
        if let Some(retry) = retry {
            block.retry = retry;
        }
    }
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

const BLOCK_COLUMNS: &str = "id, team_id, name, language, active_version, env, timeout_ms, fuel, memory_bytes, \
                             created_at, updated_at, idempotency_pointer, store_payload, network, key_value, retry";

/// A block read from a row before its JSON columns are decoded: the block (with empty
/// settings) and its stored `env`, `network`, `key_value` and `retry` texts, as every backend
/// reads them; [`decode`] finishes it.
pub type BlockRow = (Block, String, String, String, Option<String>);

fn block_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BlockRow> {
    Ok((
        Block {
            id: uuid_at(row, 0)?,
            team_id: uuid_at(row, 1)?,
            name: row.get(2)?,
            language: row.get(3)?,
            active_version: row.get(4)?,
            env: BTreeMap::new(),
            timeout_ms: row.get(6)?,
            fuel: row.get(7)?,
            memory_bytes: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
            idempotency_pointer: row.get(11)?,
            store_payload: row.get(12)?,
            network: NetworkSettings::default(),
            key_value: KeyValueSettings::default(),
            retry: None,
        },
        row.get(5)?,
        row.get(13)?,
        row.get(14)?,
        row.get(15)?,
    ))
}

/// Decodes a [`BlockRow`]'s JSON columns into the block, so every backend reads the same
/// stored text the same way (and reports the same `Corrupt` messages).
pub fn decode((mut block, env, network, key_value, retry): BlockRow) -> Result<Block, StoreError> {
    block.retry = RetrySettings::from_column(retry, "block")?;
    block.key_value =
        serde_json::from_str(&key_value).map_err(|e| StoreError::Corrupt(format!("block key_value: {e}")))?;
    block.env = serde_json::from_str(&env).map_err(|e| StoreError::Corrupt(format!("block env: {e}")))?;
    block.network = serde_json::from_str(&network).map_err(|e| StoreError::Corrupt(format!("block network: {e}")))?;
    Ok(block)
}

/// The stored text of a block's JSON column (`network`, `key_value`), byte for byte what
/// every backend writes.
pub fn encode_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The stored text of a block's `env` column, byte for byte what every backend writes.
pub fn encode_env(env: &BTreeMap<String, EnvValue>) -> Result<String, StoreError> {
    serde_json::to_string(env).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The block a `POST /v1/blocks` body makes, before it is stored (so it can be checked first).
pub fn new_block(team_id: TeamId, new: NewBlock) -> Block {
    let now = now_ms();
    Block {
        id: BlockId::new_v4(),
        team_id,
        name: new.name,
        language: new.language,
        active_version: None,
        env: new.env,
        timeout_ms: new.timeout_ms,
        fuel: new.fuel,
        memory_bytes: new.memory_bytes,
        idempotency_pointer: new.idempotency_pointer,
        store_payload: new.store_payload,
        network: new.network,
        key_value: new.key_value,
        retry: new.retry,
        created_at: now,
        updated_at: now,
    }
}

/// Stores a block made by [`new_block`].
pub(crate) fn insert_block(conn: &Connection, block: &Block) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO blocks ({BLOCK_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            block.id.to_string(),
            block.team_id.to_string(),
            block.name,
            block.language,
            encode_env(&block.env)?,
            block.timeout_ms,
            block.fuel,
            block.memory_bytes,
            block.created_at,
            block.idempotency_pointer,
            block.store_payload,
            encode_json(&block.network)?,
            encode_json(&block.key_value)?,
            RetrySettings::to_column(block.retry.as_ref())?
        ],
    )?;
    Ok(())
}

/// A block by id whatever its team (the v2 webhook answers 403, not 404, for another team's).
pub(crate) fn block_by_id(conn: &Connection, id: BlockId) -> Result<Option<Block>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE id = ?1"))?;
    stmt.query_row([id.to_string()], block_from_row).optional()?.map(decode).transpose()
}

/// A block of `team_id`; another team's block is "not found".
pub(crate) fn block(conn: &Connection, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
    block_by_id(conn, id)?.filter(|b| b.team_id == team_id).ok_or(StoreError::NotFound("block"))
}

/// The team's blocks, oldest first.
pub(crate) fn blocks_of_team(conn: &Connection, team_id: TeamId) -> Result<Vec<Block>, StoreError> {
    let mut stmt =
        conn.prepare(&format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE team_id = ?1 ORDER BY created_at, rowid"))?;
    let rows = stmt.query_map([team_id.to_string()], block_from_row)?;
    rows.map(|row| decode(row?)).collect()
}

/// Applies `patch`, runs `check` on the merged block (its error leaves the row untouched),
/// then stores it.
pub(crate) fn update_block(
    conn: &Connection,
    team_id: TeamId,
    id: BlockId,
    patch: &BlockPatch,
    check: impl FnOnce(&Block) -> Result<(), StoreError>,
) -> Result<Block, StoreError> {
    let mut block = block(conn, team_id, id)?;
    patch.clone().apply_to(&mut block);
    block.updated_at = now_ms();
    check(&block)?;
    conn.execute(
        "UPDATE blocks SET name = ?2, language = ?3, env = ?4, timeout_ms = ?5, fuel = ?6, memory_bytes = ?7, updated_at = ?8,
         idempotency_pointer = ?9, store_payload = ?10, network = ?11, key_value = ?12, retry = ?13 WHERE id = ?1",
        params![
            id.to_string(),
            block.name,
            block.language,
            encode_env(&block.env)?,
            block.timeout_ms,
            block.fuel,
            block.memory_bytes,
            block.updated_at,
            block.idempotency_pointer,
            block.store_payload,
            encode_json(&block.network)?,
            encode_json(&block.key_value)?,
            RetrySettings::to_column(block.retry.as_ref())?
        ],
    )?;
    Ok(block)
}
