//! Key-value state that outlives a run: buckets of the block's team, through the standard
//! `wasi:keyvalue` interfaces (0.2.0-draft2). A block opens only the buckets its `keyValue`
//! setting lists; values are bytes (helpers for JSON and integers included).
//!
//! ```no_run
//! use wasmhook_sdk::kv::Bucket;
//! let seen = Bucket::open("seen")?;
//! if !seen.set_if_absent("evt_123", b"1")? {
//!     // already handled: a retry of the same event
//! }
//! let hits = Bucket::open("counters")?.increment("hits", 1)?;
//! # Ok::<(), wasmhook_sdk::Error>(())
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::keyvalue::wasi::keyvalue::{atomics, store};

/// An open bucket.
pub struct Bucket {
    inner: store::Bucket,
    name: String,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish()
    }
}

/// Why a key-value call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError {
    message: String,
    denied: bool,
}

impl KvError {
    /// The block may not open this bucket (it is not in its `keyValue.buckets`).
    pub fn is_access_denied(&self) -> bool {
        self.denied
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KvError {}

impl From<store::Error> for KvError {
    fn from(error: store::Error) -> Self {
        match error {
            store::Error::AccessDenied => Self {
                message: "access denied: the bucket is not in the block's keyValue.buckets".into(),
                denied: true,
            },
            store::Error::NoSuchStore => Self { message: "no such bucket".into(), denied: false },
            store::Error::Other(message) => Self { message, denied: false },
        }
    }
}

fn local(message: String) -> KvError {
    KvError { message, denied: false }
}

impl Bucket {
    /// Opens the team's bucket `name`.
    pub fn open(name: &str) -> Result<Self, KvError> {
        Ok(Self { inner: store::open(name)?, name: name.to_owned() })
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.inner.get(key)?)
    }

    /// The value of `key`, parsed as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, KvError> {
        self.get(key)?
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|e| local(format!("{key:?} is not the JSON expected: {e}")))
            })
            .transpose()
    }

    /// Sets `key`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        Ok(self.inner.set(key, value)?)
    }

    /// Sets `key` to `value` as JSON.
    pub fn set_json(&self, key: &str, value: &impl Serialize) -> Result<(), KvError> {
        let bytes = serde_json::to_vec(value).map_err(|e| local(format!("value for {key:?}: {e}")))?;
        self.set(key, &bytes)
    }

    /// Removes `key`.
    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        Ok(self.inner.delete(key)?)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.inner.exists(key)?)
    }

    /// Every key, in order.
    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.inner.list_keys(cursor.as_deref())?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Adds `delta` to the integer at `key` (0 when absent), atomically; the new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        Ok(atomics::increment(&self.inner, key, delta)?)
    }

    /// Sets `key` only if it has no value; `false` when it had one (or another run set it
    /// first). The building block of deduplication.
    pub fn set_if_absent(&self, key: &str, value: &[u8]) -> Result<bool, KvError> {
        let cas = atomics::Cas::new(&self.inner, key)?;
        if cas.current()?.is_some() {
            return Ok(false);
        }
        match atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(error)) => Err(error.into()),
        }
    }

    /// Replaces the value of `key` with `update(current)`, retrying while other runs change it
    /// in between (compare-and-swap); returns what was written.
    pub fn update(&self, key: &str, mut update: impl FnMut(Option<&[u8]>) -> Vec<u8>) -> Result<Vec<u8>, KvError> {
        let mut cas = atomics::Cas::new(&self.inner, key)?;
        loop {
            let next = update(cas.current()?.as_deref());
            match atomics::swap(cas, &next) {
                Ok(()) => return Ok(next),
                Err(atomics::CasError::CasFailed(fresh)) => cas = fresh,
                Err(atomics::CasError::StoreError(error)) => return Err(error.into()),
            }
        }
    }
}
