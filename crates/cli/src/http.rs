//! The HTTP side: one blocking client, requests by method and path, and the server's error
//! body (`{"error", "error_code"}`) turned into a [`CliError`] with an exit code.

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

use crate::{Connection, ExitCode};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server answered with an error.
    #[error("{message} ({status}{})", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's `error_code`.
        code: Option<String>,
        /// The server's `error`.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not what the API describes.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// The profile file is unreadable or lacks the named profile.
    #[error("profile: {0}")]
    Profile(String),
    /// Arguments that parse but cannot work together, or a file that cannot be read.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The exit code scripts see.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Api { status: 404, .. } => ExitCode::NotFound,
            Self::Api { status: 401 | 403, .. } => ExitCode::Denied,
            Self::Api { status: 400 | 409 | 413 | 415 | 422, .. } => ExitCode::Invalid,
            Self::Api { status, .. } if *status >= 500 || *status == 429 => ExitCode::Unavailable,
            Self::Unreachable { .. } => ExitCode::Unreachable,
            Self::Api { .. } | Self::Unexpected(_) | Self::Profile(_) | Self::Usage(_) => ExitCode::Failure,
        }
    }
}

/// The header a trigger webhook names its (first) execution in.
const EXECUTION_ID_HEADER: &str = "x-wasmhook-execution-id";

/// What a trigger webhook answered a sender.
#[derive(Debug)]
pub struct SenderAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The execution it started, from the header or the body.
    pub execution_id: Option<String>,
    /// The JSON body (`null` when not JSON: the block's own answer).
    pub body: Value,
}

/// A server's API.
#[derive(Debug)]
pub struct ApiClient {
    client: Client,
    connection: Connection,
}

impl ApiClient {
    /// A client for `connection`.
    pub fn new(connection: Connection) -> Result<Self, CliError> {
        let client = Client::builder()
            .user_agent(concat!("wasmhook-cli/", env!("CARGO_PKG_VERSION")))
            // reqwest's blocking default is 30 s; an upload is compiled before it is answered,
            // which takes that long for an 18 MB Python component on two busy cores.
            .timeout(std::time::Duration::from_secs(600))
            .build()
            .map_err(|source| CliError::Unreachable { url: connection.url.clone(), source })?;
        Ok(Self { client, connection })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.connection.url
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.connection.url));
        match &self.connection.key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// `method path` with an optional JSON body; the JSON answer (`null` for an empty one).
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, CliError> {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        json_of(self.send(builder)?)
    }

    /// `method path?query`; the JSON answer.
    pub fn call_query(&self, method: Method, path: &str, query: &[(&str, String)]) -> Result<Value, CliError> {
        json_of(self.send(self.request(method, path).query(query))?)
    }

    /// `POST path` with raw bytes of `content_type`.
    pub fn post_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> Result<Value, CliError> {
        let builder = self.request(Method::POST, path).header("content-type", content_type).body(bytes);
        json_of(self.send(builder)?)
    }

    /// `POST path` as a webhook sender would: `headers` and `body`, no API key. The answer
    /// whatever its status (a failed run's 500 names its execution too).
    pub fn post_as_sender(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<SenderAnswer, CliError> {
        let mut builder = self.client.post(format!("{}{path}", self.connection.url)).body(body);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let response =
            builder.send().map_err(|source| CliError::Unreachable { url: self.connection.url.clone(), source })?;
        let status = response.status().as_u16();
        let header = response.headers().get(EXECUTION_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().map_err(|e| CliError::Unexpected(e.to_string()))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // The header names the run even when the block shaped its own answer.
        let execution_id = header.or_else(|| body["execution_id"].as_str().map(str::to_owned));
        Ok(SenderAnswer { status, execution_id, body })
    }

    /// `PUT path` with raw bytes.
    pub fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), CliError> {
        let builder = self.request(Method::PUT, path).header("content-type", "application/octet-stream").body(bytes);
        self.send(builder).map(drop)
    }

    /// `GET path`, the raw bytes of the answer.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, CliError> {
        let response = self.send(self.request(Method::GET, path))?;
        response.bytes().map(|b| b.to_vec()).map_err(|e| CliError::Unexpected(e.to_string()))
    }

    /// Sends; a non-2xx answer is the server's error.
    fn send(&self, builder: RequestBuilder) -> Result<Response, CliError> {
        let response =
            builder.send().map_err(|source| CliError::Unreachable { url: self.connection.url.clone(), source })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = body["error"].as_str().map_or_else(|| status.to_string(), str::to_owned);
        let code = body["error_code"].as_str().map(str::to_owned);
        Err(CliError::Api { status: status.as_u16(), code, message })
    }
}

fn json_of(response: Response) -> Result<Value, CliError> {
    let text = response.text().map_err(|e| CliError::Unexpected(e.to_string()))?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| CliError::Unexpected(format!("not JSON: {e}")))
}
