//! `wasi:keyvalue` (0.2.0-draft2: store, atomics with compare-and-swap, batch) for blocks.
//!
//! The sandbox knows nothing of persistence: a run gets a [`KeyValue`] (its team's state, from
//! the executor) and the buckets its block may open. A run without one, or opening a bucket it
//! was not granted, gets `access-denied`. Limits on keys and values are checked here, before
//! anything reaches the backend.

mod host;

pub use host::{BucketHandle, CasHandle};

use std::sync::Arc;

pub(crate) use host::add_to_linker;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Most keys in one page of `list-keys`, and in one batch call.
pub const MAX_KEYS_PER_CALL: usize = 1000;

/// Why a key-value operation failed, as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The run may not open this bucket.
    #[error("access denied")]
    AccessDenied,
    /// A limit, a bad key, a non-integer `increment`, or the backend failed.
    #[error("{0}")]
    Other(String),
}

pub use wasmhook_domain::Versioned;

/// One team's key-value state, as a run reaches it.
#[async_trait::async_trait]
pub trait KeyValue: Send + Sync {
    /// The live value of `key`.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Versioned>, KvError>;
    /// Writes `value` if the key's version is still `expected` (`None`: any; `Some(None)`:
    /// absent); `false` when it was not.
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        value: Vec<u8>,
        expected: Option<Option<i64>>,
    ) -> Result<bool, KvError>;
    /// Removes `key`.
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError>;
    /// Up to `limit` keys after `after`, in order.
    async fn keys(&self, bucket: &str, after: Option<String>, limit: usize) -> Result<Vec<String>, KvError>;
    /// Adds `delta` to the integer at `key` atomically; returns the new value.
    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError>;
}

/// What a run may do with key-value state: its team's store and the buckets it may open.
#[derive(Clone)]
pub struct KvAccess {
    /// The team's state.
    pub store: Arc<dyn KeyValue>,
    /// Bucket names it may open; `*` allows any.
    pub buckets: Vec<String>,
}

impl std::fmt::Debug for KvAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvAccess").field("buckets", &self.buckets).finish_non_exhaustive()
    }
}

impl KvAccess {
    fn may_open(&self, bucket: &str) -> bool {
        self.buckets.iter().any(|allowed| allowed == "*" || allowed == bucket)
    }
}

/// Checks a bucket name: 1–64 of `A–Z a–z 0–9 _ . -`.
pub fn check_bucket(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok { Ok(()) } else { Err(format!("bucket name {name:?} must be 1-64 characters of A-Z a-z 0-9 _ . -")) }
}

/// Checks a key: 1–256 bytes.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(format!("a key must be 1 to {MAX_KEY_BYTES} bytes (this one has {})", key.len()));
    }
    Ok(())
}

/// Checks a value: at most 1 MiB.
pub fn check_value(value: &[u8]) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!("a value must be at most {MAX_VALUE_BYTES} bytes (this one has {})", value.len()));
    }
    Ok(())
}
