//! A run's logs as they are reported and stored: leveled lines from the `logging` import plus
//! stdout/stderr. The sandbox captures them under its caps; the store keeps them as they are.

use serde::{Deserialize, Serialize};

/// Severity of a log line (mirrors the WIT `logging.level`).
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very fine-grained tracing.
    Trace,
    /// Developer detail.
    Debug,
    /// Normal progress (and every stdout line).
    Info,
    /// Recovered problems.
    Warn,
    /// Failures (and every stderr line).
    Error,
}

/// Where a log line came from.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// The `wasmhook:block/logging.emit` import.
    Log,
    /// The guest's stdout (typed blocks only; a command's stdout is its output).
    Stdout,
    /// The guest's stderr.
    Stderr,
}

/// One line of a run's log.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Origin of the line.
    pub stream: LogStream,
    /// Severity.
    pub level: LogLevel,
    /// The text, without its trailing newline.
    pub message: String,
}

/// Everything a run logged that fit under the cap, and how much did not.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logs {
    /// Kept lines in the order they were written.
    pub lines: Vec<LogLine>,
    /// Bytes dropped once the cap was reached (0 when nothing was lost).
    pub dropped_bytes: u64,
}

impl Logs {
    /// True when some of what the guest wrote was dropped.
    pub fn truncated(&self) -> bool {
        self.dropped_bytes > 0
    }
}
