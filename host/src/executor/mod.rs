//! Runs a block version for a delivery and records the execution.
//!
//! It resolves the version (pinned or active), gets the prepared block (memory → artifact on
//! disk → compile from stored bytes), merges the env layers, derives the limits, runs it in the
//! sandbox and records the outcome in the store's next group commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use crate::config::Config;
use crate::sandbox::{
    BlockDigest, DEFAULT_TIMEOUT, Outcome, PreparedBlock, RunInput, RunLimits, Sandbox, SandboxError,
};
use crate::store::blocks::{self, Block};
use crate::store::executions::{self, NewExecution, Trigger};
use crate::store::{Store, StoreError, now_ms};

/// Env vars the host sets last; no request or block config can override them.
pub const EXECUTION_ID_VAR: &str = "EXECUTION_ID";
/// See [`EXECUTION_ID_VAR`].
pub const BLOCK_ID_VAR: &str = "BLOCK_ID";
/// See [`EXECUTION_ID_VAR`].
pub const DATASET_KEY_VAR: &str = "DATASET_KEY";

/// Why a run could not happen at all (a failing guest is not an error: see [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The block has no uploaded version to run.
    #[error("block {0} has no active version: upload one with POST /v1/blocks/{0}/versions")]
    NoActiveVersion(Uuid),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sandbox could not run it.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

/// One delivery for one block.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The block (already checked to be the caller's).
    pub block: Block,
    /// A pinned version (doc datasets), else the block's active one.
    pub pinned_version: Option<i64>,
    /// The data file's contents (JSON).
    pub data: Bytes,
    /// The request's env layers, already merged in precedence order; they override the
    /// block's saved env.
    pub request_env: BTreeMap<String, String>,
    /// The doc, for v4 runs.
    pub doc_id: Option<Uuid>,
    /// The dataset, for v4 runs.
    pub dataset_key: Option<String>,
    /// A dataset's `timeoutMs` override.
    pub timeout_ms: Option<u64>,
    /// What started it.
    pub trigger: Trigger,
}

/// A recorded run.
#[derive(Debug)]
pub struct Completed {
    /// The execution id (UUID v7), also the guest's `EXECUTION_ID`.
    pub execution_id: Uuid,
    /// The version that ran.
    pub block_version: i64,
    /// What happened.
    pub outcome: Outcome,
}

/// Runs and records; cheap to clone.
#[derive(Debug, Clone)]
pub struct Executor {
    store: Store,
    sandbox: Arc<Sandbox>,
    config: Arc<Config>,
}

impl Executor {
    /// An executor over the shared store and sandbox.
    pub fn new(store: Store, sandbox: Arc<Sandbox>, config: Arc<Config>) -> Self {
        Self { store, sandbox, config }
    }

    /// Runs the block once and records the execution before returning it.
    pub async fn run(&self, request: RunRequest) -> Result<Completed, ExecError> {
        let block = &request.block;
        let version_no = request.pinned_version.or(block.active_version).ok_or(ExecError::NoActiveVersion(block.id))?;
        let block_id = block.id;
        let version = self.store.read(move |conn| blocks::version(conn, block_id, version_no)).await?;
        let prepared = self.prepared(&version.digest).await?;

        let execution_id = Uuid::now_v7();
        let mut env = block.env.clone();
        env.extend(request.request_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.insert(EXECUTION_ID_VAR.into(), execution_id.to_string());
        env.insert(BLOCK_ID_VAR.into(), block.id.to_string());
        match &request.dataset_key {
            Some(key) => env.insert(DATASET_KEY_VAR.into(), key.clone()),
            None => env.remove(DATASET_KEY_VAR),
        };
        let timeout = request.timeout_ms.or(block.timeout_ms).map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let limits = RunLimits {
            timeout,
            fuel: block.fuel,
            memory_bytes: block.memory_bytes.unwrap_or(self.config.default_memory_bytes),
        };
        let created_at = now_ms();
        let input = RunInput { data: request.data.clone(), files: Vec::new(), env, limits };
        let outcome = self.sandbox.run(&prepared, input).await?;

        let replay_input = replay_input(&request.data, &request.request_env);
        let team_id = block.team_id;
        let RunRequest { doc_id, dataset_key, trigger, .. } = request;
        let outcome = self
            .store
            .write(move |conn| {
                let new = NewExecution {
                    id: execution_id,
                    team_id,
                    block_id,
                    block_version: version_no,
                    doc_id,
                    dataset_key: dataset_key.as_deref(),
                    trigger,
                    input: &replay_input,
                    created_at,
                };
                executions::insert_finished(conn, &new, &outcome, now_ms())?;
                Ok(outcome)
            })
            .await?;
        Ok(Completed { execution_id, block_version: version_no, outcome })
    }

    /// The prepared block for a digest: memory, then the artifact on disk, then a compile of
    /// the stored bytes (e.g. after the artifact cache was wiped or the engine changed).
    async fn prepared(&self, digest: &str) -> Result<Arc<PreparedBlock>, ExecError> {
        let parsed: BlockDigest =
            digest.parse().map_err(|_| StoreError::Corrupt(format!("block digest {digest:?} is not hex")))?;
        if let Some(prepared) = self.sandbox.cached(&parsed)? {
            return Ok(prepared);
        }
        let digest = digest.to_owned();
        let bytes = self.store.read(move |conn| blocks::wasm_bytes(conn, &digest)).await?;
        Ok(self.sandbox.prepare(&bytes).await?)
    }
}

/// What replaying needs besides the block: the data and the request's env layers.
fn replay_input(data: &[u8], request_env: &BTreeMap<String, String>) -> String {
    let env = serde_json::to_string(request_env).unwrap_or_else(|_| "{}".into());
    let data = std::str::from_utf8(data).unwrap_or("null");
    format!("{{\"data\":{data},\"env\":{env}}}")
}
