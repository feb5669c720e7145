//! The execution's record of one request a block sent, allowed or refused.

use serde::{Deserialize, Serialize};

/// One outbound request of a run, as `GET /v1/executions/{id}` shows it.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundCall {
    /// Request method.
    pub method: String,
    /// `scheme://host:port/path`: no query string (it often carries tokens) and no user info.
    pub url: String,
    /// The response status, when one arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the call was refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Request body bytes sent.
    pub bytes_out: u64,
    /// Response body bytes the guest read.
    pub bytes_in: u64,
    /// From the send to the end of the response body (or to the failure).
    pub duration_ms: u64,
}

impl OutboundCall {
    /// Whether the call failed in a way that may pass on another try: no answer (DNS,
    /// connect, TLS, reset, timeout) or 429, 502, 503, 504. A call the host refused is not.
    pub fn is_transient(&self) -> bool {
        match (self.status, &self.error) {
            (_, Some(error)) if error.starts_with(REFUSED) => false,
            (None, Some(_)) => true,
            (Some(status), _) => matches!(status, 429 | 502 | 503 | 504),
            (None, None) => false,
        }
    }
}

/// How the record of a call the host refused begins.
pub const REFUSED: &str = "refused:";
