//! Mapping what came back from the guest (a value, a trap, an exit) onto an outcome.

use std::time::Duration;

use serde::de::IgnoredAny;
use wasmtime::Trap;
use wasmtime_wasi::I32Exit;

use super::bindings::GuestFailure;
use super::host_state::RunState;
use wasmhook_domain::{Failure, FailureKind};

/// What the guest call returned before interpretation.
pub(crate) enum Returned {
    Block(Result<String, GuestFailure>),
    Command(Result<(), ()>),
}

/// Checks that a typed block's output is JSON and under the cap.
pub(crate) fn typed_output(text: String, cap: usize) -> Result<String, Failure> {
    if text.len() > cap {
        return Err(over_cap(text.len() as u64, cap));
    }
    match serde_json::from_str::<IgnoredAny>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(Failure::new(FailureKind::InvalidOutput, format!("the block's output is not JSON: {e}"))),
    }
}

/// A command's stdout is its output: JSON as is, anything else as a JSON string.
pub(crate) fn command_output(stdout: Result<Vec<u8>, u64>, cap: usize) -> Result<String, Failure> {
    let bytes = stdout.map_err(|total| over_cap(total, cap))?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok("null".to_owned());
    }
    if serde_json::from_str::<IgnoredAny>(trimmed).is_ok() {
        return Ok(trimmed.to_owned());
    }
    serde_json::to_string(trimmed)
        .map_err(|e| Failure::new(FailureKind::InvalidOutput, format!("cannot encode stdout: {e}")))
}

fn over_cap(len: u64, cap: usize) -> Failure {
    Failure::new(
        FailureKind::InvalidOutput,
        format!("the block's output is {len} bytes, over the {cap}-byte output cap"),
    )
}

/// The failure a typed block returned. When the memory cap had denied a growth, that is the
/// cause (an interpreter such as CPython turns a denied growth into a catchable `MemoryError`
/// and fails the run in its own words), so it is reported as `memory_limit` with the block's
/// message kept.
pub(crate) fn guest_failure(failure: GuestFailure, state: &RunState) -> Failure {
    let message = truncated(failure.message, MAX_FAILURE_MESSAGE_BYTES);
    if state.limiter.denied {
        return memory_limit(state, &message);
    }
    let code = failure.code.map(|code| truncated(code, MAX_FAILURE_CODE_BYTES));
    Failure { kind: FailureKind::GuestError, message, code }
}

/// Longest failure message kept from a guest (it is stored with the execution and returned).
pub const MAX_FAILURE_MESSAGE_BYTES: usize = 4096;
/// Longest failure code kept from a guest.
pub const MAX_FAILURE_CODE_BYTES: usize = 64;

/// `text` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A command's failure exit status, or `memory_limit` when a denied growth came first.
pub(crate) fn command_failure(state: &RunState) -> Failure {
    if state.limiter.denied {
        return memory_limit(state, "the command exited with a failure status");
    }
    Failure::new(FailureKind::Exit, "the command exited with a failure status")
}

fn memory_limit(state: &RunState, detail: &str) -> Failure {
    Failure::new(
        FailureKind::MemoryLimit,
        format!("the run needed more memory than its cap (peak {} bytes): {detail}", state.limiter.peak),
    )
}

/// Classifies an error raised while instantiating or running the guest.
///
/// Order matters: our own deadline flag first (an epoch interrupt is a trap too), then fuel,
/// then the memory cap (a denied `memory.grow` usually ends in an allocator abort), then
/// panics (an abort after a panic message), then everything else.
pub(crate) fn classify_error(err: &wasmtime::Error, state: &RunState, timeout: Duration) -> Failure {
    if state.timed_out {
        return timeout_failure(timeout, "while running");
    }
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        // A command's `exit(0)` is a success and never gets here (see `Sandbox::run`).
        return match exit.0 {
            0 => Failure::new(FailureKind::Exit, "the block exited with status 0 instead of returning from `run`"),
            code => Failure::new(FailureKind::Exit, format!("the block exited with status {code}")),
        };
    }
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::OutOfFuel) {
        return Failure::new(FailureKind::OutOfFuel, "the run used up its fuel budget");
    }
    if state.limiter.denied {
        return memory_limit(state, &first_line(err));
    }
    if trap == Some(Trap::UnreachableCodeReached)
        && let Some(message) = state.logs.find("panicked at")
    {
        return Failure::new(FailureKind::Panic, message);
    }
    if trap == Some(Trap::StackOverflow) {
        return Failure::new(FailureKind::Trap, "stack overflow: the guest recursed deeper than the wasm stack allows");
    }
    Failure::new(FailureKind::Trap, first_line(err))
}

/// A timeout hit while the guest was blocked in a host call (the outer deadline).
pub(crate) fn blocked_timeout(timeout: Duration) -> Failure {
    timeout_failure(timeout, "while blocked in a host call")
}

fn timeout_failure(timeout: Duration, context: &str) -> Failure {
    Failure::new(
        FailureKind::Timeout,
        format!("the run exceeded its timeoutMs of {} ms {context}", timeout.as_millis()),
    )
}

/// The error's messages (outermost first, each cause's first line) and its trap code, without
/// the multi-line wasm backtrace, which wasmtime attaches as the outermost context: showing
/// only the first line said "error while executing at wasm backtrace:" and lost the cause
/// (e.g. "resource table has no free keys").
fn first_line(err: &wasmtime::Error) -> String {
    const BACKTRACE: &str = "error while executing at wasm backtrace";
    let text = err
        .chain()
        .filter_map(|cause| cause.to_string().lines().next().map(str::to_owned))
        .filter(|line| !line.is_empty() && !line.starts_with(BACKTRACE))
        .collect::<Vec<_>>()
        .join(": ");
    match err.downcast_ref::<Trap>() {
        Some(trap) if !text.contains(&trap.to_string()) => format!("{text}: {trap}"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_output_must_be_json_under_the_cap() {
        assert_eq!(typed_output("{\"a\":1}".into(), 100).expect("json"), "{\"a\":1}");
        let not_json = typed_output("hello".into(), 100).expect_err("not json");
        assert_eq!(not_json.kind, FailureKind::InvalidOutput);
        let too_big = typed_output("\"0123456789\"".into(), 5).expect_err("too big");
        assert!(too_big.message.contains("12 bytes"), "{}", too_big.message);
    }

    #[test]
    fn guest_text_is_cut_at_a_character_boundary() {
        assert_eq!(truncated("short".into(), 10), "short");
        let cut = truncated("€".repeat(2000), MAX_FAILURE_MESSAGE_BYTES);
        assert!(cut.len() <= MAX_FAILURE_MESSAGE_BYTES && cut.ends_with('…'), "{}", cut.len());
        let code = truncated("x".repeat(1000), MAX_FAILURE_CODE_BYTES);
        assert_eq!(code.len(), MAX_FAILURE_CODE_BYTES);
    }

    #[test]
    fn command_stdout_becomes_json() {
        assert_eq!(command_output(Ok(b"{\"x\": 1}\n".to_vec()), 100).expect("json"), "{\"x\": 1}");
        assert_eq!(command_output(Ok(b"plain text\n".to_vec()), 100).expect("text"), "\"plain text\"");
        assert_eq!(command_output(Ok(Vec::new()), 100).expect("empty"), "null");
        assert_eq!(command_output(Err(500), 100).expect_err("cap").kind, FailureKind::InvalidOutput);
    }
}
