//! What a run produced, and how a failed run is classified.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::logs::Logs;
use crate::outbound::OutboundCall;

/// Why a run failed. Each kind has one cause, so callers (and users reading an execution) can
/// tell a bug in the block from a limit it hit.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The block returned a failure (`Err` from `run`).
    GuestError,
    /// The guest trapped (stack overflow, `unreachable`, bad memory access, …).
    Trap,
    /// The guest panicked; the message is the panic message.
    Panic,
    /// The run exceeded its `timeoutMs`, running wasm or blocked in a host call.
    Timeout,
    /// The run used up its fuel budget.
    OutOfFuel,
    /// The run asked for more memory than its cap and could not continue.
    MemoryLimit,
    /// The block's output was not JSON, or was over the output cap.
    InvalidOutput,
    /// The guest exited with a non-zero status (commands), or exited instead of returning.
    Exit,
    /// The host could not start the run (e.g. a queued run whose stored input is gone).
    Internal,
}

impl FailureKind {
    /// The kind's name as execution records spell it (`guest_error`, `out_of_fuel`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GuestError => "guest_error",
            Self::Trap => "trap",
            Self::Panic => "panic",
            Self::Timeout => "timeout",
            Self::OutOfFuel => "out_of_fuel",
            Self::MemoryLimit => "memory_limit",
            Self::InvalidOutput => "invalid_output",
            Self::Exit => "exit",
            Self::Internal => "internal",
        }
    }
}

/// A failed run: its kind, a message a person can act on, and the block's own code if any.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Details.
    pub message: String,
    /// The block's machine-readable code (only for `guest_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Failure {
    /// A failure of `kind` with no block code.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), code: None }
    }
}

/// The terminal status of a run, as the API reports it.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The block produced valid output.
    Succeeded,
    /// The block failed (any kind but timeout).
    Failed,
    /// The block ran out of time.
    TimedOut,
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The output as JSON text, or why there is none.
    pub result: Result<String, Failure>,
    /// Log lines and stdout/stderr (for commands, stderr only), capped.
    pub logs: Logs,
    /// Fuel the run burned.
    pub fuel_consumed: u64,
    /// Wall time from the start of setup to the end of cleanup of the guest.
    pub duration: Duration,
    /// Largest total linear memory the run held, in bytes.
    pub peak_memory_bytes: u64,
    /// Every HTTP request the guest sent, allowed or refused, in order.
    pub outbound: Vec<OutboundCall>,
}

impl Outcome {
    /// Succeeded, failed or timed out.
    pub fn status(&self) -> RunStatus {
        match &self.result {
            Ok(_) => RunStatus::Succeeded,
            Err(f) if f.kind == FailureKind::Timeout => RunStatus::TimedOut,
            Err(_) => RunStatus::Failed,
        }
    }

    /// The JSON output of a successful run.
    pub fn output(&self) -> Option<&str> {
        self.result.as_ref().ok().map(String::as_str)
    }

    /// The failure of an unsuccessful run.
    pub fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }
}
