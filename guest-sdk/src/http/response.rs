//! Shaping the HTTP answer of a synchronous trigger webhook from inside the block.
//!
//! Return an [`HttpResponse`] (or any output that serializes to `{"$http": {…}}`) and the
//! webhook answers with exactly that status, content type, headers and body instead of its
//! JSON envelope — e.g. Slack's `url_verification` handshake wants the challenge back as text.

use std::collections::BTreeMap;

use serde::Serialize;

/// A response the webhook sends as-is. Serializes to the host's `$http` output convention.
///
/// ```
/// use wasmhook_sdk::HttpResponse;
/// let reply = HttpResponse::text(200, "challenge-token").header("x-handled-by", "wasmhook");
/// let json = serde_json::to_value(&reply).unwrap();
/// assert_eq!(json["$http"]["body"], "challenge-token");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct HttpResponse {
    #[serde(rename = "$http")]
    inner: Shape,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    status: u16,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
}

impl HttpResponse {
    /// A text body (`text/plain; charset=utf-8` unless [`HttpResponse::content_type`] says
    /// otherwise).
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::with_body(status, Some(serde_json::Value::String(body.into())))
    }

    /// A JSON body (`application/json`).
    pub fn json(status: u16, body: &impl Serialize) -> Result<Self, crate::Error> {
        let value = serde_json::to_value(body).map_err(|e| crate::Error::new(format!("response body: {e}")))?;
        Ok(Self::with_body(status, Some(value)))
    }

    /// No body.
    pub fn empty(status: u16) -> Self {
        Self::with_body(status, None)
    }

    fn with_body(status: u16, body: Option<serde_json::Value>) -> Self {
        Self { inner: Shape { status, headers: BTreeMap::new(), content_type: None, body } }
    }

    /// Sets the content type.
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.inner.content_type = Some(value.into());
        self
    }

    /// Adds a header (framing headers such as `content-length` are refused by the host).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.insert(name.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::HttpResponse;

    /// The serialized member is the one the host looks for (`wasmhook_abi`).
    #[test]
    fn serializes_under_the_abi_member() {
        let json = serde_json::to_value(HttpResponse::empty(204)).expect("serializes");
        assert_eq!(json[wasmhook_abi::output::HTTP_RESPONSE_MEMBER]["status"], 204);
    }
}
