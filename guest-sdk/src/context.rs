use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use wasmhook_abi::env as guest_env;

use crate::Error;

/// Everything the host handed to this run: the delivery's data file and the environment.
///
/// Built by the `#[block]` entry point; a block receives it by value.
#[derive(Debug)]
pub struct Context {
    _private: (),
}

/// Error code of a failure caused by missing or malformed webhook data.
pub const INVALID_DATA: &str = "invalid_data";

impl Context {
    pub(crate) fn new() -> Self {
        Self { _private: () }
    }

    /// Reads `WEBHOOK_DATA_FILE` and deserializes it into `T`.
    ///
    /// Fails with code `invalid_data` and a message naming the problem (the path, or serde's
    /// line/column and the field) so the caller of the webhook can fix the payload.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let bytes = self.data_bytes()?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::with_code(INVALID_DATA, format!("webhook data does not match the expected shape: {e}")))
    }

    /// The raw bytes of the data file, for blocks that parse it themselves (or stream it).
    pub fn data_bytes(&self) -> Result<Vec<u8>, Error> {
        let path = self
            .env(guest_env::DATA_FILE)
            .ok_or_else(|| Error::with_code(INVALID_DATA, format!("{} is not set", guest_env::DATA_FILE)))?;
        std::fs::read(&path)
            .map_err(|e| Error::with_code(INVALID_DATA, format!("cannot read webhook data file {path}: {e}")))
    }

    /// One environment variable of this run (block config, webhook-provided, or system).
    pub fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// This run's execution id (`EXECUTION_ID`), the one the webhook caller sees.
    pub fn execution_id(&self) -> Option<String> {
        self.env("EXECUTION_ID")
    }

    /// The dataset key when the block runs as part of a doc (`DATASET_KEY`).
    pub fn dataset_key(&self) -> Option<String> {
        self.env("DATASET_KEY")
    }

    /// The id of the block being run (`BLOCK_ID`).
    pub fn block_id(&self) -> Option<String> {
        self.env("BLOCK_ID")
    }

    /// The trigger webhook that delivered this call (`WEBHOOK_ID`); `None` for v2/v4 calls.
    pub fn webhook_id(&self) -> Option<String> {
        self.env(guest_env::WEBHOOK_ID)
    }

    /// The request body exactly as the sender posted it (`WEBHOOK_BODY_FILE`): for JSON that
    /// is the data file, for anything else (form, XML, text, binary) `/webhook/body`. Outside
    /// trigger webhooks, the data file.
    pub fn body(&self) -> Result<Vec<u8>, Error> {
        match self.env(guest_env::BODY_FILE) {
            Some(path) => std::fs::read(&path)
                .map_err(|e| Error::with_code(INVALID_DATA, format!("cannot read webhook body file {path}: {e}"))),
            None => self.data_bytes(),
        }
    }

    /// The request's `Content-Type` as sent (`WEBHOOK_CONTENT_TYPE`), when there was one.
    pub fn content_type(&self) -> Option<String> {
        self.env(guest_env::CONTENT_TYPE).filter(|v| !v.is_empty())
    }

    /// The request headers, lower-cased, without credentials (trigger webhooks with
    /// `captureRequest`; empty otherwise). Repeated headers are joined with `, `.
    pub fn headers(&self) -> Result<BTreeMap<String, String>, Error> {
        self.captured(guest_env::HEADERS_FILE).map(Option::unwrap_or_default)
    }

    /// Method, query (without secret parameters), source IP and arrival time of the request
    /// (trigger webhooks with `captureRequest`).
    pub fn request(&self) -> Result<Option<RequestInfo>, Error> {
        self.captured(guest_env::REQUEST_FILE)
    }

    fn captured<T: DeserializeOwned>(&self, var: &str) -> Result<Option<T>, Error> {
        let Some(path) = self.env(var) else { return Ok(None) };
        let bytes =
            std::fs::read(&path).map_err(|e| Error::with_code(INVALID_DATA, format!("cannot read {path}: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::with_code(INVALID_DATA, format!("{path} is not what the host writes: {e}")))
    }
}

/// The request a trigger webhook received, from `/webhook/request.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestInfo {
    /// HTTP method.
    pub method: String,
    /// Query parameters: a string, or an array for a repeated parameter.
    pub query: serde_json::Map<String, serde_json::Value>,
    /// The sender's IP address as the server saw it.
    pub source_ip: Option<String>,
    /// Arrival time, ms since the Unix epoch.
    pub received_at: i64,
}
