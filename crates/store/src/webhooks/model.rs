//! What a trigger webhook is: its target, auth mode, state, settings and the stored row.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wasmhook_domain::ids::{TeamId, WebhookId};

use wasmhook_domain::signature::SignatureConfig;

/// What a webhook runs.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One block (its active version).
    Block,
    /// A doc's datasets (all, or `datasetKeys`).
    Doc,
}

/// The block or doc a webhook runs.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Block or doc.
    #[serde(rename = "type")]
    pub kind: TargetKind,
    /// Its id.
    pub id: Uuid,
}

/// How a sender proves it may call the webhook.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The webhook's secret as `Authorization: Bearer`, `?token=` or `?key=`.
    #[default]
    Secret,
    /// The unguessable URL is the capability (Fleet style).
    None,
}

/// Whether a webhook accepts calls.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Accepts any number of calls.
    Deployed,
    /// Accepts exactly one call before `armedUntil`, then needs arming again.
    Armed,
    /// Refuses every call with 403.
    Disabled,
}

/// Answer once the run is over, or as soon as it is queued.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Run inline; 200 with the output (or the block's own HTTP response), 500, or 504.
    #[default]
    Sync,
    /// 201 at once with the execution ids, through the durable queue.
    Async,
}

/// A token bucket: `perSecond` tokens refill each second, up to `burst`.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained calls per second (may be fractional: 0.5 = one call every 2 s).
    pub per_second: f64,
    /// Calls allowed at once after a quiet period.
    pub burst: u32,
}

/// Default `maxBodyBytes` of a webhook: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;

fn default_max_body_bytes() -> u64 {
    DEFAULT_MAX_BODY_BYTES
}

/// The settings a webhook's owner may change at any time (`PATCH /v1/webhooks/{id}` merges
/// into these).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// Sync (default) or async.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// Largest request body; at most the server's `max_body_bytes`.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Accepted content types (`application/json`, `text/*`); `None` accepts any.
    #[serde(default)]
    pub content_types: Option<Vec<String>>,
    /// Calls over this rate get 429; `None` is unlimited.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Hand the block `/webhook/headers.json` and `/webhook/request.json`.
    #[serde(default)]
    pub capture_request: bool,
    /// For a doc target: the datasets to run (`None`: all).
    #[serde(default)]
    pub dataset_keys: Option<Vec<String>>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            response_mode: ResponseMode::Sync,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            content_types: None,
            rate_limit: None,
            capture_request: false,
            dataset_keys: None,
        }
    }
}

/// A webhook as stored. The secret hashes never leave the server.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The id in its URL.
    pub id: WebhookId,
    /// Owning team.
    pub team_id: TeamId,
    /// Display name.
    pub name: String,
    /// What it runs.
    pub target: Target,
    /// How senders authenticate.
    pub auth_mode: AuthMode,
    /// SHA-256 of the current secret (`auth_mode = secret`).
    pub secret_hash: Option<[u8; 32]>,
    /// Last 4 characters of the current secret.
    pub secret_hint: Option<String>,
    /// SHA-256 of the secret before the last rotation, valid until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<[u8; 32]>,
    /// End of the rotation grace period (ms).
    pub previous_secret_expires_at: Option<i64>,
    /// Deployed, armed or disabled.
    pub state: WebhookState,
    /// End of the arm window (ms); `None` once the armed call has been taken.
    pub armed_until: Option<i64>,
    /// Owner-editable settings.
    pub settings: WebhookSettings,
    /// The senders' signature check, if any (its secrets are kept as given: an HMAC cannot
    /// be checked against a hash).
    pub signature: Option<SignatureConfig>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

impl Webhook {
    /// Whether a call at `now` (ms) would be taken: deployed, or armed with a live arm.
    pub fn accepting(&self, now: i64) -> bool {
        match self.state {
            WebhookState::Deployed => true,
            WebhookState::Armed => self.armed_until.is_some_and(|until| until > now),
            WebhookState::Disabled => false,
        }
    }
}

/// A webhook to create.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Owning team.
    pub team_id: TeamId,
    /// Display name.
    pub name: String,
    /// What it runs.
    pub target: Target,
    /// How senders authenticate.
    pub auth_mode: AuthMode,
    /// SHA-256 of the secret and its hint (`auth_mode = secret`).
    pub secret: Option<([u8; 32], String)>,
    /// Settings.
    pub settings: WebhookSettings,
    /// The signature check.
    pub signature: Option<SignatureConfig>,
    /// Allow a second active webhook on the same target.
    pub allow_multiple: bool,
}
