//! The input an execution keeps to be run again.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
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

    /// The stored text of `data`, `env` and `files`. `data` is JSON text checked by the API;
    /// were it not, the delivery is refused rather than stored as something `parse` rejects.
    pub(super) fn serialize(
        data: &[u8],
        env: &BTreeMap<String, String>,
        files: &[(String, Bytes)],
    ) -> Result<String, StoreError> {
        #[derive(Serialize)]
        struct Stored<'a> {
            data: &'a RawValue,
            env: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            files: BTreeMap<&'a str, String>,
        }
        let data = std::str::from_utf8(data)
            .map_err(|e| StoreError::Invalid(format!("data is not UTF-8 JSON (byte {})", e.valid_up_to())))?;
        let data: &RawValue =
            serde_json::from_str(data).map_err(|e| StoreError::Invalid(format!("data is not JSON: {e}")))?;
        let files = files.iter().map(|(name, bytes)| (name.as_str(), BASE64.encode(bytes))).collect();
        serde_json::to_string(&Stored { data, env, files })
            .map_err(|e| StoreError::Invalid(format!("stored input: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_text_keeps_data_verbatim_and_round_trips() {
        let env = BTreeMap::from([("K".to_owned(), "v".to_owned())]);
        let data = br#"{ "a" : [1, 2.50] }"#;
        let text = StoredInput::serialize(data, &env, &[]).expect("serialize");
        assert_eq!(text, r#"{"data":{ "a" : [1, 2.50] },"env":{"K":"v"}}"#, "data is kept as sent, no files member");
        let parsed = StoredInput::parse(&text).expect("parse");
        assert_eq!((parsed.data.as_ref(), parsed.env, parsed.files.len()), (&data[..], env.clone(), 0));

        let files = vec![("body".to_owned(), Bytes::from_static(&[0xff, 0x00, b'x']))];
        let text = StoredInput::serialize(b"null", &env, &files).expect("serialize");
        assert_eq!(text, r#"{"data":null,"env":{"K":"v"},"files":{"body":"/wB4"}}"#);
        assert_eq!(StoredInput::parse(&text).expect("parse").files, files, "binary bodies survive");
    }

    #[test]
    fn data_that_is_not_json_is_refused_not_stored() {
        let env = BTreeMap::new();
        assert!(matches!(StoredInput::serialize(b"{not json", &env, &[]), Err(StoreError::Invalid(_))));
        assert!(matches!(StoredInput::serialize(&[0xff, 0xfe], &env, &[]), Err(StoreError::Invalid(_))));
    }
}
