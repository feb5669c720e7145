//! Turning one webhook call into jobs: one for a block, one per selected dataset for a doc.
//! Shared by the v2/v4 routes and trigger webhooks.

use std::collections::BTreeMap;
use wasmhook_domain::ids::WebhookId;

use bytes::Bytes;

use super::error::ApiError;
use crate::config::Config;
use crate::executor::retry::RetryPolicy;
use crate::executor::{ExecError, Job};
use crate::state::AppState;
use wasmhook_store::blocks::Block;
use wasmhook_store::docs::{Dataset, Doc};
use wasmhook_store::executions::{ExecutionSpec, Trigger};
use wasmhook_store::now_ms;

/// What every job of one call shares.
#[derive(Debug, Clone)]
pub(super) struct CallInput {
    /// The data file's contents (JSON).
    pub data: Bytes,
    /// Further `/webhook` files.
    pub files: Vec<(String, Bytes)>,
    /// The request's env layers.
    pub env: BTreeMap<String, String>,
    /// The route that took the call.
    pub trigger: Trigger,
    /// The trigger webhook, if any.
    pub webhook_id: Option<WebhookId>,
}

impl CallInput {
    /// The first attempt of a new execution of `block` at `version` for this call.
    fn spec(&self, block: &Block, version: i64, keep_input: bool) -> ExecutionSpec {
        let mut spec = ExecutionSpec::first_attempt(block.team_id, block.id, version, self.trigger, keep_input);
        spec.webhook_id = self.webhook_id;
        spec
    }
}

/// The job running the block's active version.
pub(super) fn block_job(config: &Config, block: &Block, input: CallInput) -> Result<Job, ApiError> {
    let version = block.active_version.ok_or(ExecError::NoActiveVersion(block.id))?;
    Ok(Job {
        spec: input.spec(block, version, block.store_payload),
        block: block.clone(),
        data: input.data,
        files: input.files,
        request_env: input.env,
        retry: RetryPolicy::resolve(block.retry.as_ref(), config),
    })
}

/// The jobs of the doc's datasets selected by `keys` (all when `None`), in doc order, with the
/// datasets they run. A dataset whose block has no version makes the whole call a 409, so a
/// delivery is accepted whole or not at all; a doc without datasets is a 422.
pub(super) async fn doc_jobs(
    state: &AppState,
    doc: &Doc,
    keys: Option<&[String]>,
    input: CallInput,
) -> Result<(Vec<Dataset>, Vec<Job>), ApiError> {
    if doc.archived_at.is_some() {
        return Err(ApiError::not_found("doc"));
    }
    let selected = select(&doc.datasets, keys)?;
    if selected.is_empty() {
        // Nothing would run: refused rather than answered 2xx, so a sender keeps the delivery
        // (and retries it) instead of believing it was handled.
        return Err(ApiError::unprocessable(format!(
            "doc {} has no datasets to run: add one with PUT /v1/docs/{}",
            doc.id, doc.id
        )));
    }
    let created_at = now_ms();
    let mut jobs = Vec::with_capacity(selected.len());
    for dataset in &selected {
        let block = state.store.blocks().shared(doc.team_id, dataset.block_id).await?;
        let version = dataset.version.or(block.active_version).ok_or(ExecError::NoActiveVersion(block.id))?;
        let mut spec = input.spec(&block, version, doc.store_payload);
        spec.doc_id = Some(doc.id);
        spec.dataset_key = Some(dataset.key.clone());
        spec.timeout_ms = dataset.timeout_ms;
        spec.created_at = created_at;
        jobs.push(Job {
            spec,
            block: Block::clone(&block),
            data: input.data.clone(),
            files: input.files.clone(),
            request_env: input.env.clone(),
            retry: RetryPolicy::resolve(dataset.retry.as_ref().or(block.retry.as_ref()), &state.config),
        });
    }
    Ok((selected, jobs))
}

/// The datasets to run, in doc order; unknown keys are a 422 naming them.
fn select(datasets: &[Dataset], keys: Option<&[String]>) -> Result<Vec<Dataset>, ApiError> {
    let Some(keys) = keys else { return Ok(datasets.to_vec()) };
    if keys.is_empty() {
        return Err(ApiError::unprocessable("`datasetKeys` must name at least one dataset (omit it to run all)"));
    }
    for (i, key) in keys.iter().enumerate() {
        if !datasets.iter().any(|d| &d.key == key) {
            let known: Vec<&str> = datasets.iter().map(|d| d.key.as_str()).collect();
            return Err(ApiError::unprocessable(format!(
                "`datasetKeys[{i}]` {key:?} is not a dataset of this doc (datasets: {known:?})"
            )));
        }
    }
    Ok(datasets.iter().filter(|d| keys.contains(&d.key)).cloned().collect())
}
