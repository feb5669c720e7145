//! [`ExecutionSpec`]: the one list of what an execution is, fixed when its delivery is
//! accepted. Every stage that carries an execution embeds it instead of repeating its fields:
//! the executor's job, the row written at acceptance ([`super::NewExecution`]) and the row a
//! worker claims ([`super::Claimed`]).
//!
//! The read model, [`super::Execution`], keeps its own flat fields: its serde field order is
//! the public JSON of `GET /v1/executions/{id}`, which `#[serde(flatten)]` would reorder.

use wasmhook_domain::ids::{BlockId, DocId, ExecutionId, ReplayJobId, TeamId, WebhookId};

use super::Trigger;
use crate::now_ms;

/// What an execution is: identity, target, provenance and the attempt it is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSpec {
    /// The execution id (UUID v7), the guest's `EXECUTION_ID`.
    pub id: ExecutionId,
    /// Owning team.
    pub team_id: TeamId,
    /// The block run.
    pub block_id: BlockId,
    /// The version run (resolved at acceptance).
    pub block_version: i64,
    /// The doc, for v4 and doc-targeted webhooks.
    pub doc_id: Option<DocId>,
    /// The dataset, for v4 and doc-targeted webhooks.
    pub dataset_key: Option<String>,
    /// What started it.
    pub trigger: Trigger,
    /// Keep the input once run (`storePayload`).
    pub keep_input: bool,
    /// A dataset's `timeoutMs` override, kept so a queued run uses it.
    pub timeout_ms: Option<u64>,
    /// The execution this one replays.
    pub replay_of: Option<ExecutionId>,
    /// The trigger webhook that accepted it.
    pub webhook_id: Option<WebhookId>,
    /// When it was accepted, ms since the epoch.
    pub created_at: i64,
    /// Which attempt of its delivery, from 1.
    pub attempt: u32,
    /// The delivery's first attempt, for a later one.
    pub retry_of: Option<ExecutionId>,
    /// The bulk replay that submitted it.
    pub replay_job: Option<ReplayJobId>,
    /// The idempotency key its delivery was sent with (kept on the row for the dashboard and
    /// `GET /v1/executions/{id}`; the claim on it is in `deliveries`).
    pub idempotency_key: Option<String>,
}

impl ExecutionSpec {
    /// The first attempt of a new delivery to `block_id` at `block_version`, accepted now,
    /// with a fresh id; callers set the provenance fields that apply.
    pub fn first_attempt(
        team_id: TeamId,
        block_id: BlockId,
        block_version: i64,
        trigger: Trigger,
        keep_input: bool,
    ) -> Self {
        Self {
            id: ExecutionId::now_v7(),
            team_id,
            block_id,
            block_version,
            doc_id: None,
            dataset_key: None,
            trigger,
            keep_input,
            timeout_ms: None,
            replay_of: None,
            webhook_id: None,
            created_at: now_ms(),
            attempt: 1,
            retry_of: None,
            replay_job: None,
            idempotency_key: None,
        }
    }

    /// The delivery's first attempt: this one, or the one it retries (the id its sender has).
    pub fn delivery_id(&self) -> ExecutionId {
        self.retry_of.unwrap_or(self.id)
    }

    /// The next attempt of the same delivery: a new id, accepted now, linked by `retry_of`.
    pub fn next_attempt(&self) -> Self {
        Self {
            id: ExecutionId::now_v7(),
            attempt: self.attempt.saturating_add(1),
            retry_of: Some(self.delivery_id()),
            created_at: now_ms(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_link_to_the_first() {
        let first = ExecutionSpec::first_attempt(TeamId::new_v4(), BlockId::new_v4(), 3, Trigger::V2, true);
        let second = first.next_attempt();
        let third = second.next_attempt();
        assert_eq!((second.attempt, third.attempt), (2, 3));
        assert_eq!(second.retry_of, Some(first.id));
        assert_eq!(third.retry_of, Some(first.id), "every retry names the first attempt, not the previous one");
        assert_eq!(third.delivery_id(), first.id);
        assert_ne!(third.id, second.id);
        assert_eq!((third.block_id, third.block_version, third.team_id), (first.block_id, 3, first.team_id));
    }
}
