//! One run of one block version: resolve the prepared block, merge env, derive limits, run,
//! record.

use std::collections::BTreeMap;
use std::time::Duration;
use wasmhook_domain::ids::{BlockId, ExecutionId};

use bytes::Bytes;
use tracing::Instrument as _;

use super::retry::{RetryPolicy, Verdict};
pub use super::stored_input::StoredInput;
use super::team_kv::TeamKv;
use super::{ExecError, Executor};
use crate::auth::run_keys::RunKeyOwner;
use crate::callbacks::Completion;
use crate::telemetry::metrics::outcome_label;
use wasmhook_abi::env as guest_env;
use wasmhook_sandbox::{DEFAULT_TIMEOUT, Failure, Outcome, RunInput, RunLimits};
use wasmhook_store::blocks::Block;
use wasmhook_store::executions::{Claimed, Execution, ExecutionSpec, ExecutionStatus, NewExecution, Trigger};
use wasmhook_store::repo::{Finished, FollowUp};
use wasmhook_store::{StoreError, now_ms};

/// How the run key shows in what the run produced: `[secret:run-api-key]`.
const RUN_KEY_SECRET_NAME: &str = "run-api-key";

/// Everything one run needs: what the execution is (fixed when the delivery is accepted), the
/// block it runs and its input.
#[derive(Debug, Clone)]
pub struct Job {
    /// What the execution is: id, target, provenance, attempt.
    pub spec: ExecutionSpec,
    /// The block, with the config the run uses.
    pub block: Block,
    /// The data file's contents (JSON).
    pub data: Bytes,
    /// Further `/webhook` files (a raw body, captured headers), by plain file name.
    pub files: Vec<(String, Bytes)>,
    /// The request's env layers, merged; they override the block's saved env.
    pub request_env: BTreeMap<String, String>,
    /// The delivery's retry policy; `None`: this attempt is the only one (and for every sync
    /// run: its caller has the answer and retries itself).
    pub retry: Option<RetryPolicy>,
}

/// What a caller learns about a finished (or still pending) run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Execution id.
    pub execution_id: ExecutionId,
    /// Block run.
    pub block_id: BlockId,
    /// Version run.
    pub block_version: i64,
    /// Status.
    pub status: ExecutionStatus,
    /// Failure, if any.
    pub error: Option<Failure>,
    /// JSON output, if any.
    pub output: Option<String>,
    /// Wall time, µs.
    pub duration_us: u64,
    /// Fuel burned.
    pub fuel_consumed: u64,
    /// Peak memory, bytes.
    pub peak_memory_bytes: u64,
}

impl RunSummary {
    fn of(job: &Job, outcome: &Outcome) -> Self {
        Self {
            execution_id: job.spec.id,
            block_id: job.spec.block_id,
            block_version: job.spec.block_version,
            status: outcome.status().into(),
            error: outcome.failure().cloned(),
            output: outcome.output().map(str::to_owned),
            duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
            fuel_consumed: outcome.fuel_consumed,
            peak_memory_bytes: outcome.peak_memory_bytes,
        }
    }

    /// Whether the run is over.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

impl From<Execution> for RunSummary {
    fn from(e: Execution) -> Self {
        Self {
            execution_id: e.id,
            block_id: e.block_id,
            block_version: e.block_version,
            status: e.status,
            error: e.error,
            output: e.output.map(|o| o.get().to_owned()),
            duration_us: e.duration_us,
            fuel_consumed: e.fuel_consumed,
            peak_memory_bytes: e.peak_memory_bytes,
        }
    }
}

impl Job {
    /// The `{data, env}` kept for replay (and for running a queued job after a restart).
    pub(crate) fn stored_input(&self) -> Result<String, StoreError> {
        StoredInput::serialize(&self.data, &self.request_env, &self.files)
    }

    pub(crate) fn record(&self, input: String) -> NewExecution {
        NewExecution {
            spec: self.spec.clone(),
            input,
            retry: self.retry.as_ref().and_then(|policy| serde_json::to_string(policy).ok()),
        }
    }

    /// A new execution re-running `original`'s stored input (parsed as `input`) with `block`
    /// at `version`, linked by `replayOf`.
    pub fn replay(
        original: &Execution,
        input: StoredInput,
        block: Block,
        version: i64,
        retry: Option<RetryPolicy>,
    ) -> Self {
        let mut spec =
            ExecutionSpec::first_attempt(block.team_id, block.id, version, Trigger::Replay, block.store_payload);
        spec.doc_id = original.doc_id;
        spec.dataset_key = original.dataset_key.clone();
        spec.timeout_ms = original.timeout_ms;
        spec.replay_of = Some(original.id);
        Self { spec, block, data: input.data, files: input.files, request_env: input.env, retry }
    }

    /// How this job ended its delivery, for the completion callbacks.
    fn completion<'a>(&'a self, status: ExecutionStatus, outcome: &'a Outcome) -> Completion<'a> {
        let spec = &self.spec;
        Completion {
            team_id: spec.team_id,
            execution_id: spec.id,
            delivery_id: spec.delivery_id(),
            attempt: spec.attempt,
            block_id: spec.block_id,
            block_version: spec.block_version,
            doc_id: spec.doc_id,
            dataset_key: spec.dataset_key.as_deref(),
            webhook_id: spec.webhook_id,
            status,
            outcome,
        }
    }

    /// The next attempt of this job's delivery: a new execution id, the same input.
    pub(crate) fn next_attempt(&self) -> Self {
        Self { spec: self.spec.next_attempt(), ..self.clone() }
    }

    /// Rebuilds a job from a claimed queue row, its block and its parsed input.
    pub(crate) fn from_claimed(claimed: Claimed, block: Block, input: StoredInput) -> Self {
        Self {
            spec: claimed.spec,
            block,
            data: input.data,
            files: input.files,
            request_env: input.env,
            retry: claimed.retry.as_deref().and_then(|text| serde_json::from_str(text).ok()),
        }
    }
}

/// Whether a run's record must be committed before its summary is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recording {
    /// Wait for the commit (queue workers: the next claim follows the record).
    Committed,
    /// Queue the record for the next group commit and return at once (the sync path: the
    /// caller has the result in hand; API reads of executions flush the writer first, so they
    /// still see it). Waiting here cost a writer round trip per call: ≈ 300 µs at `-c1`.
    Queued,
}

impl Executor {
    /// Runs a job in the sandbox and records the outcome (upserting any pending row), in a
    /// `run` span naming the execution, block and team (never the payload), which the outcome,
    /// fuel, peak memory and duration are added to.
    pub(crate) async fn run_job(&self, job: Job, recording: Recording) -> Result<RunSummary, ExecError> {
        let span = tracing::debug_span!(
            "run",
            execution_id = %job.spec.id,
            block_id = %job.spec.block_id,
            block_version = job.spec.block_version,
            team_id = %job.spec.team_id,
            attempt = job.spec.attempt,
            outcome = tracing::field::Empty,
            fuel_consumed = tracing::field::Empty,
            peak_memory_bytes = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        self.run_in_sandbox(job, recording).instrument(span).await
    }

    async fn run_in_sandbox(&self, job: Job, recording: Recording) -> Result<RunSummary, ExecError> {
        let prepared = self.prepared(job.spec.block_id, job.spec.block_version).await?;

        let secrets = self.open_secrets(&job.block).await?;
        let mut env = secrets.env(&job.block)?;
        env.extend(job.request_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.insert(guest_env::EXECUTION_ID.into(), job.spec.id.to_string());
        env.insert(guest_env::BLOCK_ID.into(), job.block.id.to_string());
        // The run's own key to this server's API, valid until `run_key` drops after the run.
        let run_key = self.run_keys.issue(RunKeyOwner { team_id: job.spec.team_id, execution_id: job.spec.id });
        env.insert(guest_env::API_BASE_URL.into(), self.api_base_url.to_string());
        env.insert(guest_env::API_KEY.into(), run_key.text().to_owned());
        match &job.spec.dataset_key {
            Some(key) => env.insert(guest_env::DATASET_KEY.into(), key.clone()),
            None => env.remove(guest_env::DATASET_KEY),
        };
        let timeout = job.spec.timeout_ms.or(job.block.timeout_ms).map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let limits = RunLimits {
            timeout,
            fuel: job.block.fuel,
            memory_bytes: job.block.memory_bytes.unwrap_or(self.config.default_memory_bytes),
        };
        let network = secrets.network_policy(&job.block.network)?;
        let kv = TeamKv::access(&self.store, job.block.team_id, self.config.kv_team_max_bytes, &job.block.key_value);
        let input = RunInput { data: job.data.clone(), files: job.files.clone(), env, limits, network, kv };
        let mut outcome = self.sandbox.run(&prepared, input).await?;
        let mut redactor = secrets.redactor();
        redactor.add(RUN_KEY_SECRET_NAME, run_key.text());
        drop(run_key);
        redactor.outcome(&mut outcome);
        self.record(job, outcome, recording).await
    }

    /// Records a finished run and returns its summary. When the delivery's retry policy
    /// retries this outcome, the next attempt is stored as `scheduled` in the same write (so a
    /// crash cannot lose it); when it was the last attempt, this one is recorded `dead`. A
    /// final outcome queues the completion callbacks its targets subscribed to, also in the
    /// same write.
    pub(crate) async fn record(
        &self,
        job: Job,
        outcome: Outcome,
        recording: Recording,
    ) -> Result<RunSummary, ExecError> {
        let verdict = job.retry.as_ref().map_or(Verdict::Final, |policy| policy.verdict(job.spec.attempt, &outcome));
        let mut summary = RunSummary::of(&job, &outcome);
        self.observe(&outcome);
        let status = match verdict {
            Verdict::Dead => ExecutionStatus::Dead,
            Verdict::Final | Verdict::RetryAfter(_) => summary.status,
        };
        summary.status = status;
        let next = match verdict {
            Verdict::RetryAfter(delay) => Some((job.next_attempt(), delay)),
            Verdict::Final | Verdict::Dead => None,
        };
        let retrying = next.is_some();
        let input = job.stored_input()?;
        let now = now_ms();
        let follow_up = match next {
            Some((attempt, delay)) => FollowUp::Retry {
                next: attempt.record(input.clone()),
                not_before: now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            },
            None => FollowUp::Complete(self.callbacks.completion(&job.completion(status, &outcome), now)?),
        };
        let reports = matches!(follow_up, FollowUp::Complete(Some(_)));
        let finished = Finished { record: job.record(input), outcome, status, now, follow_up };
        match recording {
            Recording::Committed => self.store.executions().record(finished).await?,
            Recording::Queued => self.store.executions().record_detached(finished).await,
        }
        if retrying {
            self.retry_wake.notify_one();
        }
        if reports {
            self.callbacks.wake();
        }
        Ok(summary)
    }

    /// Counts a finished run in the metrics and adds its figures to the current (`run`) span.
    fn observe(&self, outcome: &Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics.run(outcome);
        }
        let span = tracing::Span::current();
        span.record("outcome", outcome_label(outcome));
        span.record("fuel_consumed", outcome.fuel_consumed);
        span.record("peak_memory_bytes", outcome.peak_memory_bytes);
        span.record("duration_us", u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX));
    }
}
