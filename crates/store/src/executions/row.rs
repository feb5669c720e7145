//! An execution row between the database and the read model: what each backend reads from
//! its row ([`ExecutionRow`]) and the one decoding of its stored text into an [`Execution`].

use serde_json::value::RawValue;
use wasmhook_domain::Failure;
use wasmhook_domain::ids::{BlockId, ExecutionId, TeamId};

use super::{Execution, ExecutionStatus, Trigger};
use crate::StoreError;

/// An execution row as any backend reads it: the plain columns already in `execution`, the
/// stored text of the others still to decode ([`ExecutionRow::decode`]), so that the decoding
/// (and its `Corrupt` messages) is one code for SQLite and PostgreSQL.
#[derive(Debug)]
pub struct ExecutionRow {
    /// The plain columns; `trigger`, `status`, `error`, `output`, `logs`, `input` and
    /// `outbound` are placeholders until decoded.
    pub execution: Execution,
    /// `trigger`.
    pub trigger: String,
    /// `status`.
    pub status: String,
    /// `error_kind`, `error_message` and `error_code`, when there is a kind.
    pub error: Option<(String, String, Option<String>)>,
    /// `output` (JSON text).
    pub output: Option<String>,
    /// `logs` (JSON text).
    pub logs: String,
    /// `input` (JSON text).
    pub input: Option<String>,
    /// `outbound` (JSON text).
    pub outbound: Option<String>,
}

impl ExecutionRow {
    /// The read model; `full` also decodes logs, input and outbound calls (one execution, not
    /// a listing).
    pub fn decode(self, full: bool) -> Result<Execution, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("execution {what}: {e}"));
        let mut execution = self.execution;
        execution.trigger = self.trigger.parse()?;
        execution.status = self.status.parse().map_err(|e: String| corrupt("status", &e))?;
        execution.error = match self.error {
            Some((kind, message, code)) => Some(Failure {
                kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(|e| corrupt("error kind", &e))?,
                message,
                code,
            }),
            None => None,
        };
        execution.output = self.output.map(RawValue::from_string).transpose().map_err(|e| corrupt("output", &e))?;
        if full {
            execution.logs = serde_json::from_str(&self.logs).map_err(|e| corrupt("logs", &e))?;
            execution.input = self.input.map(RawValue::from_string).transpose().map_err(|e| corrupt("input", &e))?;
            if let Some(outbound) = self.outbound {
                execution.outbound = serde_json::from_str(&outbound).map_err(|e| corrupt("outbound", &e))?;
            }
        }
        Ok(execution)
    }
}

/// The placeholder read model [`ExecutionRow`] starts from: a backend fills in the plain
/// columns.
pub fn blank_execution(id: ExecutionId, team_id: TeamId, block_id: BlockId) -> Execution {
    Execution {
        id,
        team_id,
        block_id,
        block_version: 0,
        doc_id: None,
        dataset_key: None,
        trigger: Trigger::V2,
        status: ExecutionStatus::Queued,
        error: None,
        output: None,
        logs: Vec::new(),
        outbound: Vec::new(),
        logs_dropped_bytes: 0,
        fuel_consumed: 0,
        duration_us: 0,
        peak_memory_bytes: 0,
        input: None,
        timeout_ms: None,
        replay_of: None,
        webhook_id: None,
        attempts: 0,
        attempt: 1,
        retry_of: None,
        not_before: None,
        replay_job: None,
        created_at: 0,
        started_at: None,
        finished_at: None,
        delivery: None,
        idempotency_key: None,
        callbacks: Vec::new(),
    }
}
