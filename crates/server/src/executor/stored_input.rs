//! The input an execution keeps to be run again.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use wasmhook_store::StoreError;

/// What an execution keeps to be run again (queued after a restart, or replayed): the data,
/// the request's env layers and any further files, stored as
/// `{"data": …, "env": {…}, "files": {"body": "<base64>"}}` (`files` only when there are some:
/// a raw body may be binary).
#[derive(Debug, Clone, Default)]
pub struct StoredInput {
    /// The data file's contents.
    pub data: Bytes,
    /// The request's env layers.
    pub env: BTreeMap<String, String>,
    /// Further `/webhook` files.
    pub files: Vec<(String, Bytes)>,
}

impl StoredInput {
    /// Parses the stored text.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            data: &'a RawValue,
            env: BTreeMap<String, String>,
            #[serde(default)]
            files: BTreeMap<String, String>,
        }
        let raw: Raw<'_> = serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored input: {e}")))?;
        let files = raw
            .files
            .into_iter()
            .map(|(name, encoded)| {
                let bytes =
                    BASE64.decode(encoded).map_err(|e| StoreError::Corrupt(format!("stored file {name}: {e}")))?;
                Ok((name, Bytes::from(bytes)))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self { data: Bytes::copy_from_slice(raw.data.get().as_bytes()), env: raw.env, files })
    }

    /// The stored text of `data`, `env` and `files`. `data` is JSON text checked as UTF-8 by
    /// the API; were it not, the delivery is refused rather than stored as anything else.
    pub(super) fn serialize(
        data: &[u8],
        env: &BTreeMap<String, String>,
        files: &[(String, Bytes)],
    ) -> Result<String, StoreError> {
        let env = serde_json::to_string(env).map_err(|e| StoreError::Invalid(format!("request env: {e}")))?;
        let data = std::str::from_utf8(data)
            .map_err(|e| StoreError::Invalid(format!("data is not UTF-8 JSON (byte {})", e.valid_up_to())))?;
        if files.is_empty() {
            return Ok(format!("{{\"data\":{data},\"env\":{env}}}"));
        }
        let files: BTreeMap<&str, String> =
            files.iter().map(|(name, bytes)| (name.as_str(), BASE64.encode(bytes))).collect();
        let files = serde_json::to_string(&files).map_err(|e| StoreError::Invalid(format!("request files: {e}")))?;
        Ok(format!("{{\"data\":{data},\"env\":{env},\"files\":{files}}}"))
    }
}
