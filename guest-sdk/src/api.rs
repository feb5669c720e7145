//! This server's own API, from inside a run: fire another block or doc, or read and write the
//! team's key-value state over HTTP — what a Definite dataset does with `DEFINITE_API_KEY`.
//!
//! Every run gets `WASMHOOK_API_BASE_URL` and `WASMHOOK_API_KEY`: a key of the block's team
//! that may execute and use key-value state, valid only while the run lasts. Calls to that
//! URL need no `network.allowedHosts` entry.
//!
//! ```no_run
//! use wasmhook_sdk::api::Api;
//! let api = Api::from_env()?;
//! let answer = api.run_block("9b2f…", &serde_json::json!({ "order": "o-1" }))?;
//! api.kv_put("cursors", "github", b"page-8")?;
//! # Ok::<(), wasmhook_sdk::Error>(())
//! ```

use serde::Serialize;
use serde_json::{Value, json};

use crate::http::{HttpError, Request, Response};

/// The env var holding the API's base URL.
pub use wasmhook_abi::env::API_BASE_URL as BASE_URL_VAR;
/// The env var holding the run's key.
pub use wasmhook_abi::env::API_KEY as KEY_VAR;

/// A client of this server's API with the run's key.
#[derive(Clone)]
pub struct Api {
    base: String,
    key: String,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Api {
    /// The client of the current run (from `WASMHOOK_API_BASE_URL` and `WASMHOOK_API_KEY`).
    pub fn from_env() -> Result<Self, HttpError> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| HttpError::local(format!("{name} is not set: not running in wasmhook?")))
        };
        Ok(Self { base: var(BASE_URL_VAR)?.trim_end_matches('/').to_owned(), key: var(KEY_VAR)? })
    }

    fn request(&self, method: &str, path: &str) -> Request {
        Request::new(method, format!("{}{path}", self.base)).header("authorization", format!("Bearer {}", self.key))
    }

    fn checked(response: Response) -> Result<Response, HttpError> {
        if response.is_success() { Ok(response) } else { Err(HttpError::status(response.status(), response.text())) }
    }

    /// Runs a block of the team with `data` (`POST /v2/webhook/blocks/{id}/execute`) and
    /// returns its answer (`success`, `execution_id`, `output`, …).
    pub fn run_block(&self, block_id: &str, data: &impl Serialize) -> Result<Value, HttpError> {
        let body = json!({ "data": serde_json::to_value(data).map_err(|e| HttpError::local(e.to_string()))? });
        let response = self.request("POST", &format!("/v2/webhook/blocks/{block_id}/execute")).json(&body)?.send()?;
        Self::checked(response)?.json()
    }

    /// Runs datasets of a doc of the team (`POST /v4/webhook/docs/{id}/execute`; empty
    /// `datasets`: all of them).
    pub fn run_doc(&self, doc_id: &str, datasets: &[&str], data: &impl Serialize) -> Result<Value, HttpError> {
        let data = serde_json::to_value(data).map_err(|e| HttpError::local(e.to_string()))?;
        let body = if datasets.is_empty() {
            json!({ "data": data })
        } else {
            json!({ "data": data, "datasetKeys": datasets })
        };
        let response = self.request("POST", &format!("/v4/webhook/docs/{doc_id}/execute")).json(&body)?.send()?;
        Self::checked(response)?.json()
    }

    /// A value of the team's key-value state.
    pub fn kv_get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, HttpError> {
        let response = self.request("GET", &format!("/v1/kv/{bucket}/{key}")).send()?;
        if response.status() == 404 {
            return Ok(None);
        }
        Ok(Some(Self::checked(response)?.bytes().to_vec()))
    }

    /// Sets a value of the team's key-value state.
    pub fn kv_put(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), HttpError> {
        Self::checked(self.request("PUT", &format!("/v1/kv/{bucket}/{key}")).body(value.to_vec()).send()?).map(drop)
    }
}
