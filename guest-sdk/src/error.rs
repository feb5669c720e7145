use std::fmt;

/// A block's failure: a message for people and an optional machine-readable code.
///
/// Returning `Err(error)` from a block makes the execution fail with kind `guest_error`, this
/// message as its `error`, and the code alongside. Any `std::error::Error` converts into it with
/// `?`, so `serde_json`, `std::io` and your own error types just work.
///
/// Like `anyhow::Error`, this type deliberately does not implement `std::error::Error` itself;
/// that is what makes the blanket `From` conversion possible.
pub struct Error {
    message: String,
    code: Option<String>,
}

impl Error {
    /// A failure with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: None }
    }

    /// A failure with a machine-readable code (e.g. `invalid_signature`) and a message.
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { message: message.into(), code: Some(code.into()) }
    }

    /// A failure worth another attempt: the delivery is tried again under the block's retry
    /// policy (`retry.maxAttempts`), whatever `retry.retryOn` says. Its code is `retryable`.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: Some(RETRYABLE.to_owned()) }
    }

    /// Marks this failure as worth another attempt, keeping its code: `retryable:<code>`.
    #[must_use]
    pub fn and_retry(self) -> Self {
        let code = match self.code {
            Some(code) if is_retryable(&code) => code,
            Some(code) => format!("{RETRYABLE_CODE_PREFIX}{code}"),
            None => RETRYABLE.to_owned(),
        };
        Self { message: self.message, code: Some(code) }
    }

    /// Whether the host will retry this failure (see [`Error::retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.code.as_deref().is_some_and(is_retryable)
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The machine-readable code, when one was given.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub(crate) fn into_parts(self) -> (String, Option<String>) {
        (self.message, self.code)
    }
}

/// The code (or code prefix, `retryable:<code>`) that marks a failure worth another attempt.
pub use wasmhook_abi::output::RETRYABLE_CODE as RETRYABLE;
use wasmhook_abi::output::{RETRYABLE_CODE_PREFIX, is_retryable_code as is_retryable};

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    /// Keeps the whole `source()` chain in the message: `outer: inner: root cause`.
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "[{code}] {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("message", &self.message).field("code", &self.code).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_keeps_the_source_chain() {
        let io = std::io::Error::other("disk on fire");
        let err: Error = io.into();
        assert_eq!(err.message(), "disk on fire");
        assert_eq!(err.code(), None);
    }

    #[test]
    fn retryable_failures_carry_the_marker_code() {
        assert_eq!(Error::retryable("later").code(), Some("retryable"));
        let coded = Error::with_code("rate_limited", "slow down").and_retry();
        assert_eq!(coded.code(), Some("retryable:rate_limited"));
        assert!(coded.is_retryable());
        assert_eq!(coded.and_retry().code(), Some("retryable:rate_limited"), "marked once");
        assert!(!Error::with_code("retryable_not", "no").is_retryable());
    }

    #[test]
    fn display_shows_the_code() {
        assert_eq!(Error::with_code("bad", "no").to_string(), "[bad] no");
    }
}
