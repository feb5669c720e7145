//! Team secrets: values a block uses without the server ever storing them in plain text.
//!
//! - [`Sealer`] (in the store, which keeps what it seals): XChaCha20-Poly1305 under the server's master key (encryption at rest of what
//!   must be read back: secret values, webhook signing secrets);
//! - [`master_key`]: where that key comes from, and its rotation;
//! - [`redact`]: a run's secret values replaced by `[secret:NAME]` in all it produced.
//!
//! A block uses a secret two ways: an env var whose value is `{"secret": "NAME"}` (resolved per
//! run, never stored with the execution), or a **credential** the host injects as a header into
//! the block's requests to one host, so the guest never holds the value at all.

pub mod master_key;
pub mod redact;

pub use master_key::KeyText;
pub use redact::Redactor;
pub use wasmhook_store::sealing::{MasterKey, SealError, Sealer, callback_context, secret_context, signature_context};

/// Why a secret could not be sealed, opened or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A value did not seal or open.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The configured master key is unusable.
    #[error("master key: {0}")]
    BadKey(String),
    /// The key file could not be read or created.
    #[error("master key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Longest secret name.
pub const MAX_NAME_BYTES: usize = 64;
/// Shortest secret value: shorter ones would be redacted out of ordinary text.
pub const MIN_VALUE_BYTES: usize = 8;
/// Longest secret value.
pub const MAX_VALUE_BYTES: usize = 64 << 10;

/// Checks a secret name: 1–64 of `A–Z a–z 0–9 _ . -` (it appears in `[secret:NAME]` markers,
/// which must need no escaping in JSON or logs).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok { Ok(()) } else { Err(format!("secret name {name:?} must be 1-64 characters of A-Z a-z 0-9 _ . -")) }
}

/// Checks a secret value's length.
pub fn check_value(value: &str) -> Result<(), String> {
    if (MIN_VALUE_BYTES..=MAX_VALUE_BYTES).contains(&value.len()) {
        Ok(())
    } else {
        Err(format!("`value` must be {MIN_VALUE_BYTES} to {MAX_VALUE_BYTES} bytes"))
    }
}
