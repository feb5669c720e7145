//! Completion callbacks: a block, doc or trigger webhook names a URL and the events it wants
//! (`succeeded`, `failed`, `dead`); when a delivery reaches one, wasmhook POSTs a JSON report
//! signed per the Standard Webhooks specification ([`sign`]).
//!
//! A message is written in the same commit as the execution record that ends the delivery, so
//! a crash loses none; the [`sender`] then tries it until a 2xx answers or the retry schedule
//! (`callback_retry_schedule`) runs out. Every try of a message carries the same `webhook-id`,
//! so a receiver that saw it already can drop the repeat.

pub mod sender;
pub mod sign;

use std::collections::HashSet;
use std::sync::Arc;
use wasmhook_domain::ids::{BlockId, DocId, ExecutionId, TeamId, WebhookId};

use parking_lot::RwLock;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::Notify;
use uuid::Uuid;

use wasmhook_sandbox::{Failure, Outcome};
use wasmhook_store::StoreError;
use wasmhook_store::callbacks::CallbackEvent;
use wasmhook_store::executions::ExecutionStatus;
use wasmhook_store::repo;

/// The end of one delivery, as the executor records it.
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    /// Owning team.
    pub team_id: TeamId,
    /// The execution that ended the delivery (its last attempt).
    pub execution_id: ExecutionId,
    /// The delivery's first attempt (the id its sender was given).
    pub delivery_id: ExecutionId,
    /// Which attempt ended it.
    pub attempt: u32,
    /// The block run.
    pub block_id: BlockId,
    /// Its version.
    pub block_version: i64,
    /// The doc, for v4.
    pub doc_id: Option<DocId>,
    /// The dataset, for v4.
    pub dataset_key: Option<&'a str>,
    /// The trigger webhook, if one accepted it.
    pub webhook_id: Option<WebhookId>,
    /// The final status.
    pub status: ExecutionStatus,
    /// What the run produced.
    pub outcome: &'a Outcome,
}

/// Which targets have a callback, and the sender's wake-up.
#[derive(Debug, Default)]
pub struct Callbacks {
    /// Kept in memory so that a run none of whose targets has a callback costs one hash lookup
    /// per target, not a query on the writer thread.
    targets: RwLock<HashSet<Uuid>>,
    wake: Notify,
}

impl Callbacks {
    /// The registry, knowing these targets have callbacks.
    pub fn new(targets: impl IntoIterator<Item = Uuid>) -> Arc<Self> {
        Arc::new(Self { targets: RwLock::new(targets.into_iter().collect()), wake: Notify::new() })
    }

    /// A callback was set on `target`.
    pub fn added(&self, target: Uuid) {
        self.targets.write().insert(target);
    }

    /// `target`'s callback was removed.
    pub fn removed(&self, target: Uuid) {
        self.targets.write().remove(&target);
    }

    /// A target's callback moved to a new id (a trigger webhook's regenerated URL).
    pub fn moved(&self, from: WebhookId, to: WebhookId) {
        let mut targets = self.targets.write();
        if targets.remove(&from.as_uuid()) {
            targets.insert(to.into());
        }
    }

    /// Wakes the sender (a message was added, or is due sooner).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The reports to queue with the record that ends a delivery: its targets that have a
    /// callback, its event and the signed body; `None` when no target has a callback (the
    /// common case, decided in memory) or the status is not final. The store adds one message
    /// per callback subscribed to the event, in the same write as the record.
    pub fn completion(&self, done: &Completion<'_>, now: i64) -> Result<Option<repo::Completion>, StoreError> {
        let Some(event) = event_of(done.status) else { return Ok(None) };
        let targets: Vec<Uuid> = {
            let known = self.targets.read();
            [done.webhook_id.map(Uuid::from), done.doc_id.map(Uuid::from), Some(done.block_id.into())]
                .into_iter()
                .flatten()
                .filter(|target| known.contains(target))
                .collect()
        };
        if targets.is_empty() {
            return Ok(None);
        }
        Ok(Some(repo::Completion {
            team_id: done.team_id,
            execution_id: done.execution_id,
            targets,
            event,
            payload: payload(done, event, now)?,
        }))
    }
}

/// The event a final status is reported as; `None` for a status that is not final.
fn event_of(status: ExecutionStatus) -> Option<CallbackEvent> {
    match status {
        ExecutionStatus::Succeeded => Some(CallbackEvent::Succeeded),
        ExecutionStatus::Failed | ExecutionStatus::TimedOut => Some(CallbackEvent::Failed),
        ExecutionStatus::Dead => Some(CallbackEvent::Dead),
        ExecutionStatus::Queued | ExecutionStatus::Running | ExecutionStatus::Scheduled => None,
    }
}

/// The body: Standard Webhooks' recommended `{type, timestamp, data}` envelope.
#[derive(utoipa::ToSchema, Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: String,
    timestamp: String,
    data: Data<'a>,
}

#[derive(utoipa::ToSchema, Serialize)]
struct Data<'a> {
    execution_id: ExecutionId,
    delivery_id: ExecutionId,
    status: ExecutionStatus,
    attempt: u32,
    block_id: BlockId,
    block_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_id: Option<DocId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_id: Option<WebhookId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    output: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Failure>,
    duration_us: u64,
}

fn payload(done: &Completion<'_>, event: CallbackEvent, now: i64) -> Result<String, StoreError> {
    let output = done.outcome.output().and_then(|text| serde_json::from_str::<&RawValue>(text).ok());
    let timestamp = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(now).unwrap_or(0)),
    )
    .to_string();
    let body = Payload {
        kind: format!("execution.{}", event.as_str()),
        timestamp,
        data: Data {
            execution_id: done.execution_id,
            delivery_id: done.delivery_id,
            status: done.status,
            attempt: done.attempt,
            block_id: done.block_id,
            block_version: done.block_version,
            doc_id: done.doc_id,
            dataset_key: done.dataset_key,
            webhook_id: done.webhook_id,
            output,
            error: done.outcome.failure(),
            duration_us: u64::try_from(done.outcome.duration.as_micros()).unwrap_or(u64::MAX),
        },
    };
    serde_json::to_string(&body).map_err(|e| StoreError::Corrupt(format!("callback payload: {e}")))
}
