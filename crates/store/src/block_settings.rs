//! The parts of a block's configuration that name secrets or reach the network: env values that
//! reference a secret, and the outbound HTTP policy with its injected credentials.

use serde::{Deserialize, Serialize};

use super::StoreError;
use wasmhook_domain::AllowedHost;

/// One env value of a block: text, or a reference to a team secret resolved at run time
/// (`{"secret": "slack"}`) and never stored with the execution.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    /// The value itself.
    Text(String),
    /// The value of a team secret.
    Secret(SecretRef),
}

/// `{"secret": "NAME"}`.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's name.
    pub secret: String,
}

impl From<&str> for EnvValue {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

/// A block's outbound HTTP policy, as set through the API (`network` of a block). Absent
/// limits take the server's defaults; every limit is checked against the server's ceilings.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSettings {
    /// `scheme://host[:port]` entries the block may call (see `wasmhook_domain::AllowedHost`).
    #[serde(default)]
    pub allowed_hosts: Vec<AllowedHost>,
    /// Secrets the host adds as a header to the block's requests to one host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Requests per run (refused ones count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
    /// Request body bytes per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_bytes: Option<u64>,
    /// Response body bytes per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// DNS + TCP + TLS time per request, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
}

/// A host-injected credential: `{"secret": "stripe", "inject": {"host": "https://api.stripe.com",
/// "header": "Authorization", "value": "Bearer {secret}"}}`. The host is allowed by it (it
/// need not be repeated in `allowedHosts`); the guest never sees the value.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The team secret.
    pub secret: String,
    /// Where and how it is added.
    pub inject: Injection,
}

/// Where a credential goes.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    /// The requests it is added to (an `allowedHosts` entry).
    pub host: AllowedHost,
    /// The header it sets (replacing one the guest set).
    pub header: String,
    /// The header's value; `{secret}` is replaced by the secret's value.
    pub value: String,
}

/// The placeholder a credential's header value holds.
pub const SECRET_PLACEHOLDER: &str = "{secret}";

impl NetworkSettings {
    /// The secrets its credentials use.
    pub fn credential_secrets(&self) -> impl Iterator<Item = &str> {
        self.credentials.iter().map(|c| c.secret.as_str())
    }
}

/// The key-value state a block may use (`keyValue` of a block).
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyValueSettings {
    /// Buckets of its team it may open (`*`: any); empty: none.
    #[serde(default)]
    pub buckets: Vec<String>,
    /// Values it writes expire after this long; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// A retry policy as a block or a doc dataset sets it (`retry`); absent fields take the
/// server's defaults (see `executor::retry::RetryPolicy::resolve`).
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrySettings {
    /// Runs in all, the first included; 1 = no retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// How the delay grows between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// The delay before the second attempt, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_ms: Option<u64>,
    /// The longest delay between two attempts, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<u64>,
    /// Spread each delay over [½ delay, delay] at random, so that deliveries failing together
    /// do not all come back at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
    /// The failures retried; default `timeout`, `trap`, `memory_limit`, `network`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<Vec<RetryOn>>,
    /// The block's own failure codes (`guest_error`) that are retried, besides `retryable`
    /// and `retryable:…`, which always are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retryable_codes: Vec<String>,
}

/// How the delay between attempts grows.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// `initialDelayMs × 2^(n−1)` before attempt n+1, capped at `maxDelayMs`.
    #[default]
    Exponential,
    /// `initialDelayMs` every time.
    Fixed,
}

/// A class of failure a retry policy may retry. `invalid_output` is deliberately not one: the
/// same block on the same input would produce the same output again.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryOn {
    /// The run hit its deadline.
    Timeout,
    /// The guest trapped.
    Trap,
    /// The run needed more memory than its cap.
    MemoryLimit,
    /// The run failed after an outbound call that got no answer (connect, DNS, TLS, reset,
    /// timeout) or an answer of 429, 502, 503 or 504.
    Network,
    /// The guest panicked.
    Panic,
    /// The run used up its fuel.
    OutOfFuel,
    /// The host could not start the run.
    Internal,
    /// Every failure the block returns itself, whatever its code.
    GuestError,
}

impl RetrySettings {
    /// The stored text of a block's or dataset's `retry` column (`NULL` when unset).
    pub fn to_column(retry: Option<&Self>) -> Result<Option<String>, StoreError> {
        retry.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// A `retry` column read back; `owner` names it in the error.
    pub fn from_column(text: Option<String>, owner: &str) -> Result<Option<Self>, StoreError> {
        text.map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("{owner} retry: {e}")))
    }
}

impl RetryOn {
    /// The classes retried when a policy names none.
    pub const DEFAULT: [RetryOn; 4] = [RetryOn::Timeout, RetryOn::Trap, RetryOn::MemoryLimit, RetryOn::Network];
}
